-- The history of consent: every choice a person made, as it was reported, kept for evidence.
-- Append-only: a correction is a new event, so the history can prove what was true at any time.
CREATE TABLE consent_event (
    id              bigint      GENERATED ALWAYS AS IDENTITY,
    subject_id      uuid        NOT NULL,
    topic_id        bigint      NOT NULL,
    channel         text        NOT NULL,
    choice          text        NOT NULL,
    -- When the person made the choice (reported by the source); `recorded_at` is when it reached the platform.
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    -- The system or touchpoint that captured the choice, e.g. 'web.preference_centre', 'call_centre', 'import'.
    source          text        NOT NULL,
    -- Who recorded it on the person's behalf (an agent or system id); NULL when the person acted themself.
    actor           text,
    -- Lets a source retry safely: the same key from the same source is one event.
    idempotency_key text,
    -- Proof of consent as the source captured it (form version, wording shown, ...). No free-form personal data.
    evidence        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT consent_event_pkey PRIMARY KEY (id),
    CONSTRAINT consent_event_subject_id_fkey FOREIGN KEY (subject_id) REFERENCES data_subject (id),
    CONSTRAINT consent_event_topic_id_fkey FOREIGN KEY (topic_id) REFERENCES topic (id),
    CONSTRAINT consent_event_channel_fkey FOREIGN KEY (channel) REFERENCES channel (code),
    CONSTRAINT consent_event_choice_check CHECK (choice IN ('granted', 'denied')),
    -- A choice from the future is a client bug; five minutes absorbs clock skew between systems.
    CONSTRAINT consent_event_occurred_at_check CHECK (occurred_at <= recorded_at + interval '5 minutes'),
    CONSTRAINT consent_event_source_check CHECK (source ~ '^[a-z][a-z0-9_.-]{0,62}$'),
    CONSTRAINT consent_event_actor_check CHECK (actor = btrim(actor) AND length(actor) BETWEEN 1 AND 200),
    CONSTRAINT consent_event_idempotency_key_check CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    CONSTRAINT consent_event_source_idempotency_key_key UNIQUE (source, idempotency_key),
    CONSTRAINT consent_event_evidence_check CHECK (jsonb_typeof(evidence) = 'object')
);

-- A person's history, newest first (also serves the foreign key to data_subject).
CREATE INDEX consent_event_subject_id_occurred_at_idx ON consent_event (subject_id, occurred_at DESC, id DESC);
-- Audits and reports per topic over time (also serves the foreign key to topic).
CREATE INDEX consent_event_topic_id_occurred_at_idx ON consent_event (topic_id, occurred_at);

-- Enforced in the database, not only by the API: no role that can write the table can rewrite history through SQL.
CREATE FUNCTION consent_event_reject_change() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'consent_event is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = 'Record a new consent event instead of changing or removing one.';
END;
$$;

-- Statement level: even an UPDATE or DELETE that matches no row is refused, so such code fails in every test.
CREATE TRIGGER consent_event_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON consent_event
    FOR EACH STATEMENT EXECUTE FUNCTION consent_event_reject_change();

COMMENT ON TABLE consent_event IS 'Append-only history of consent choices (UPDATE, DELETE and TRUNCATE are rejected).';
