"""Seeds the emulator with what `cargo xtask apply` would have made for a stage: the resources the Serverless stack
and xtask refer to (network, buckets, roles, key, certificate, hosted zone, alarm topic) and the SSM parameters of the
Terraform -> Serverless contract that point at them.

The parameter names and types are not listed here: xtask passes them, read from terraform/modules/ssm_contract (what
Terraform writes) and serverless.yml (what osls reads). This file only knows how to make a value of each kind, and
fails with one sentence for a name it cannot make.

Usage (as `cargo xtask rehearse` runs it, AWS_ENDPOINT_URL pointing at the emulator):
  .venv/bin/python seed_stage.py '{"stage": "dev", "region": "eu-central-1", "parameters": {"db-name": "String"},
                                   "tfvars": {"api_domain_name": "...", "hosted_zone_name": "...", ...}}'
Prints {"parameters": {"/pmp/dev/db-name": "pmp", ...}} on success.
"""

import json
import sys

import boto3


def main(request):
    stage, region = request["stage"], request["region"]
    tfvars = request["tfvars"]
    session = boto3.session.Session(region_name=region)
    account = session.client("sts").get_caller_identity()["Account"]
    ec2 = session.client("ec2")
    made = {}

    key_arn = session.client("kms").create_key(Description=f"pmp {stage} (rehearsal)")["KeyMetadata"]["Arn"]
    vpc = ec2.create_vpc(CidrBlock=tfvars.get("vpc_cidr", "10.20.0.0/16"))["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{index}.0/24", AvailabilityZone=f"{region}{zone}")["Subnet"]["SubnetId"]
        for index, zone in enumerate("abc", start=1)
    ]
    security_group = ec2.create_security_group(
        VpcId=vpc, GroupName=f"pmp-{stage}-lambda", Description="the function's security group"
    )["GroupId"]
    domain = tfvars["api_domain_name"]
    certificate = session.client("acm").request_certificate(DomainName=domain, ValidationMethod="DNS")["CertificateArn"]
    zone = session.client("route53").create_hosted_zone(
        Name=tfvars["hosted_zone_name"], CallerReference=f"pmp-{stage}-rehearsal"
    )["HostedZone"]["Id"].split("/")[-1]
    topic = session.client("sns").create_topic(Name=f"pmp-{stage}-alarms")["TopicArn"]

    def role(name):
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                 "Principal": {"Service": ["lambda.amazonaws.com", "cloudformation.amazonaws.com"]}}]}
        return session.client("iam").create_role(
            RoleName=f"pmp-api-{stage}-{name}", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]

    def bucket(name):
        bucket_name = f"pmp-{stage}-{name}-{account}-{region}"
        session.client("s3").create_bucket(
            Bucket=bucket_name, CreateBucketConfiguration={"LocationConstraint": region})
        return bucket_name

    fixed = {
        "private-subnet-ids": ",".join(subnets),
        "lambda-security-group-id": security_group,
        "db-proxy-endpoint": f"pmp-{stage}.proxy-crehearsal.{region}.rds.amazonaws.com",
        "db-proxy-resource-id": "prx-0rehearsal0000001",
        "db-name": "pmp",
        # The database roles are fixed by design (docs/database-access.md), not by the stage.
        "db-user": "pmp_api",
        "db-migrator-user": "pmp_migrator",
        "api-domain-name": domain,
        "certificate-arn": certificate,
        "hosted-zone-id": zone,
        # Terraform derives it from the proxy's connection budget (modules/concurrency); any small number will do here.
        "reserved-concurrency": "5",
        "alarm-topic-arn": topic,
        "kms-key-arn": key_arn,
        "third-party-api-url": tfvars.get("third_party_api_url", "https://third-party.example.com"),
    }
    ssm = session.client("ssm")
    for name, kind in sorted(request["parameters"].items()):
        if name in fixed:
            value = fixed[name]
        elif name.endswith("-role-arn"):
            value = role(name.removesuffix("-role-arn"))
        elif name.endswith("-bucket-name"):
            value = bucket(name.removesuffix("-bucket-name"))
        else:
            sys.exit(f"the rehearsal cannot seed /pmp/{stage}/{name}: teach xtask/src/commands/rehearse/seed_stage.py its kind")
        full = f"/pmp/{stage}/{name}"
        ssm.put_parameter(Name=full, Type=kind, Value=value, Overwrite=True)
        made[full] = value
    print(json.dumps({"parameters": made, "vpc_id": vpc}))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
