"""Expected RDS IAM auth tokens for lambda/src/iam_token.rs, computed independently with botocore.

Run: .venv/bin/python lambda/tests/vectors/rds_iam_token.py
botocore's RDS `generate_db_auth_token` signs with the real SigV4 query signer; only the clock is frozen, so the
output is the reference the hand-written presigner must reproduce byte for byte.
"""

import datetime
from unittest import mock

import botocore
import botocore.auth
import botocore.session

FROZEN = datetime.datetime(2026, 11, 22, 14, 5, 9)  # UTC, as botocore's utcnow() would return it

CASES = [
    # The Lambda case: temporary credentials with a session token (characters that need percent-encoding).
    dict(
        name="SESSION",
        host="pmp-dev.proxy-abcdefghijkl.eu-central-1.rds.amazonaws.com",
        port=5432,
        user="pmp_api",
        region="eu-central-1",
        key="ASIAEXAMPLEKEY123456",
        secret="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        token="IQoJb3JpZ2luX2VjEXAMPLE/token+with=special//chars==",
    ),
    # Long-term credentials (no token), a non-default port and a user name that needs encoding.
    dict(
        name="NO_SESSION",
        host="db.example.internal",
        port=6543,
        user="report user@x",
        region="us-east-1",
        key="AKIDEXAMPLE",
        secret="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        token=None,
    ),
]


class FrozenDatetime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return FROZEN


def main():
    print(f"# botocore {botocore.__version__}, time {FROZEN.isoformat()}Z")
    for case in CASES:
        session = botocore.session.Session()
        client = session.create_client(
            "rds",
            region_name=case["region"],
            aws_access_key_id=case["key"],
            aws_secret_access_key=case["secret"],
            aws_session_token=case["token"],
        )
        with mock.patch.object(botocore.auth.datetime, "datetime", FrozenDatetime):
            token = client.generate_db_auth_token(case["host"], case["port"], case["user"], case["region"])
        print(f'{case["name"]}: {token}')


if __name__ == "__main__":
    main()
