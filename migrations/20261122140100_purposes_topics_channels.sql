-- What a person can choose about: purposes of processing, the topics under each purpose, and contact channels.
-- Rows are retired with `active = false`, never deleted: consent history keeps pointing at them.

CREATE TABLE purpose (
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    code        text        NOT NULL,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    legal_basis text        NOT NULL,
    active      boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT purpose_pkey PRIMARY KEY (id),
    CONSTRAINT purpose_code_key UNIQUE (code),
    -- Codes appear in URLs and client code: one stable, lower-case spelling.
    CONSTRAINT purpose_code_check CHECK (code ~ '^[a-z][a-z0-9_]{0,62}$'),
    CONSTRAINT purpose_name_check CHECK (btrim(name) <> ''),
    -- The six lawful bases of GDPR article 6(1).
    CONSTRAINT purpose_legal_basis_check CHECK (legal_basis IN (
        'consent', 'contract', 'legal_obligation', 'vital_interests', 'public_task', 'legitimate_interests'
    ))
);

CREATE TABLE topic (
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    purpose_id  bigint      NOT NULL,
    code        text        NOT NULL,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    active      boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT topic_pkey PRIMARY KEY (id),
    CONSTRAINT topic_purpose_id_fkey FOREIGN KEY (purpose_id) REFERENCES purpose (id),
    -- Codes are unique within a purpose; the index also serves "topics of a purpose" and the foreign key.
    CONSTRAINT topic_purpose_id_code_key UNIQUE (purpose_id, code),
    CONSTRAINT topic_code_check CHECK (code ~ '^[a-z][a-z0-9_]{0,62}$'),
    CONSTRAINT topic_name_check CHECK (btrim(name) <> '')
);

-- A table rather than a CHECK list: a new channel is an INSERT, not a constraint rewrite (expand without contract).
CREATE TABLE channel (
    code text NOT NULL,
    name text NOT NULL,
    CONSTRAINT channel_pkey PRIMARY KEY (code),
    CONSTRAINT channel_code_check CHECK (code ~ '^[a-z][a-z0-9_]{0,62}$'),
    CONSTRAINT channel_name_check CHECK (btrim(name) <> '')
);

INSERT INTO channel (code, name) VALUES
    ('email', 'Email'),
    ('sms', 'SMS'),
    ('phone', 'Telephone'),
    ('post', 'Post'),
    ('push', 'Push notification');

COMMENT ON TABLE purpose IS 'A purpose of processing, with its lawful basis (e.g. marketing, service messages).';
COMMENT ON TABLE topic IS 'A preference topic under a purpose (e.g. the newsletter under marketing).';
COMMENT ON TABLE channel IS 'A contact channel a choice applies to.';
