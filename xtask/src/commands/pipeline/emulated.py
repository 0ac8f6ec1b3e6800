"""What `cargo xtask pipeline` makes in the emulator besides the rehearsal's seed, for the jobs that talk to it.

  users: the IAM users whose access keys the jobs get in `keys` mode, each with one key. The account's plan and
         Terraform identities are made by an administrator (docs/bootstrap.md); the GitLab user by Terraform.
         Prints {"keys": {"<user>": ["<access key id>", "<secret>"]}}.
  state: the stage's Terraform state object in the bootstrap state bucket, where apply leaves it; teardown looks for
         it before it runs `terraform destroy`. Prints {"state": "s3://<bucket>/<key>"}.

Usage (AWS_ENDPOINT_URL pointing at the emulator):
  .venv/bin/python emulated.py '{"action": "users", "region": "eu-central-1", "users": ["pmp-api-dev-plan"]}'
  .venv/bin/python emulated.py '{"action": "state", "region": "eu-central-1", "stack": "pmp-bootstrap-terraform-state",
                                 "key": "pmp/dev/terraform.tfstate"}'
"""

import json
import sys

import boto3


def users(session, request):
    iam = session.client("iam")
    keys = {}
    for name in request["users"]:
        iam.create_user(UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        keys[name] = [key["AccessKeyId"], key["SecretAccessKey"]]
    return {"keys": keys}


def state(session, request):
    stack = session.client("cloudformation").describe_stacks(StackName=request["stack"])["Stacks"][0]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    bucket = outputs["StateBucketName"]
    session.client("s3").put_object(Bucket=bucket, Key=request["key"], Body=b'{"version": 4, "resources": []}')
    return {"state": f"s3://{bucket}/{request['key']}"}


def main(request):
    session = boto3.session.Session(region_name=request["region"])
    actions = {"users": users, "state": state}
    if request.get("action") not in actions:
        sys.exit(f"emulated.py: the action must be one of {sorted(actions)}, not {request.get('action')!r}")
    print(json.dumps(actions[request["action"]](session, request)))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
