-- Each person's current choice per topic and channel: the latest consent event, kept by a trigger so that it can
-- never disagree with the history. The API writes events only; this table is what it reads.
CREATE TABLE preference (
    subject_id  uuid        NOT NULL,
    topic_id    bigint      NOT NULL,
    channel     text        NOT NULL,
    choice      text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    -- The event this choice comes from: the evidence behind every current answer.
    event_id    bigint      NOT NULL,
    CONSTRAINT preference_pkey PRIMARY KEY (subject_id, topic_id, channel),
    CONSTRAINT preference_subject_id_fkey FOREIGN KEY (subject_id) REFERENCES data_subject (id),
    CONSTRAINT preference_topic_id_fkey FOREIGN KEY (topic_id) REFERENCES topic (id),
    CONSTRAINT preference_channel_fkey FOREIGN KEY (channel) REFERENCES channel (code),
    CONSTRAINT preference_event_id_fkey FOREIGN KEY (event_id) REFERENCES consent_event (id),
    CONSTRAINT preference_choice_check CHECK (choice IN ('granted', 'denied'))
);

-- "Who may be contacted about this topic on this channel" (also serves the foreign key to topic).
CREATE INDEX preference_topic_id_channel_choice_idx ON preference (topic_id, channel, choice);

-- The latest choice wins by `occurred_at`, so an event that arrives late (a batch import, a retry) does not
-- overwrite a newer one; equal times fall back to arrival order (`id`).
CREATE FUNCTION preference_apply_consent_event() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO preference AS p (subject_id, topic_id, channel, choice, occurred_at, event_id)
    VALUES (NEW.subject_id, NEW.topic_id, NEW.channel, NEW.choice, NEW.occurred_at, NEW.id)
    ON CONFLICT (subject_id, topic_id, channel) DO UPDATE
        SET choice = EXCLUDED.choice, occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id
        WHERE (p.occurred_at, p.event_id) < (EXCLUDED.occurred_at, EXCLUDED.event_id);
    RETURN NULL;
END;
$$;

CREATE TRIGGER consent_event_apply_to_preference
    AFTER INSERT ON consent_event
    FOR EACH ROW EXECUTE FUNCTION preference_apply_consent_event();

-- Events recorded before this migration (none on a fresh database) get their current choice too.
INSERT INTO preference (subject_id, topic_id, channel, choice, occurred_at, event_id)
SELECT DISTINCT ON (subject_id, topic_id, channel) subject_id, topic_id, channel, choice, occurred_at, id
FROM consent_event
ORDER BY subject_id, topic_id, channel, occurred_at DESC, id DESC;

-- Only the trigger above writes here: a direct change would make the current choice disagree with the history.
-- pg_trigger_depth() is 0 for a statement a client sent and at least 1 inside the consent_event trigger.
CREATE FUNCTION preference_reject_direct_change() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'preference is derived from consent_event: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = 'Record a consent event; the current preference follows from it.';
END;
$$;

CREATE TRIGGER preference_derived_only
    BEFORE INSERT OR UPDATE OR DELETE ON preference
    FOR EACH ROW WHEN (pg_trigger_depth() = 0) EXECUTE FUNCTION preference_reject_direct_change();

CREATE TRIGGER preference_no_truncate
    BEFORE TRUNCATE ON preference
    FOR EACH STATEMENT EXECUTE FUNCTION preference_reject_direct_change();

COMMENT ON TABLE preference IS 'Current choice per person, topic and channel; derived from consent_event by a trigger, read-only otherwise.';
