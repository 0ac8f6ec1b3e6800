-- The people (data subjects) whose preferences the platform keeps.
-- Only the calling system's own reference for a person is stored: contact details stay in the systems that own them
-- (data minimisation), so this table is the one place a person is identified.
CREATE TABLE data_subject (
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    external_ref text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT data_subject_pkey PRIMARY KEY (id),
    -- Every request starts from the caller's reference: unique, and this constraint's index serves that look-up.
    CONSTRAINT data_subject_external_ref_key UNIQUE (external_ref),
    -- No padding or empty references: ' 42' and '42' must not become two people.
    CONSTRAINT data_subject_external_ref_check
        CHECK (external_ref = btrim(external_ref) AND length(external_ref) BETWEEN 1 AND 200)
);

COMMENT ON TABLE data_subject IS 'A person whose preferences are kept; identified only by the caller''s reference.';
COMMENT ON COLUMN data_subject.external_ref IS 'The calling system''s identifier for the person (e.g. a CRM id).';
