"""Reads back, as JSON, the emulator's state that `cargo xtask rehearse` checks after each command: the stacks, the
stage's functions (configuration and reserved concurrency), the custom domain with its API mappings and DNS records,
and the stage's objects in the deployment bucket. It judges nothing: the checks are xtask's (rehearse/checks.rs).

Usage: .venv/bin/python read_state.py '{"region": ..., "stacks": [...], "function_prefix": "pmp-api-dev-",
                                         "domain": ..., "hosted_zone_id": ..., "bucket": ..., "prefix": ...}'
"""

import base64
import json
import sys

import boto3
from botocore.exceptions import ClientError


def main(request):
    session = boto3.session.Session(region_name=request["region"])
    cloudformation = session.client("cloudformation")
    stacks = {}
    for name in request["stacks"]:
        try:
            stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        except ClientError:
            continue
        if stack["StackStatus"] == "DELETE_COMPLETE":
            continue
        stacks[name] = {
            "status": stack["StackStatus"],
            "outputs": {output["OutputKey"]: output.get("OutputValue") for output in stack.get("Outputs", [])},
        }

    lambda_client = session.client("lambda")
    functions = {}
    for function in lambda_client.list_functions()["Functions"]:
        name = function["FunctionName"]
        if not name.startswith(request["function_prefix"]):
            continue
        concurrency = lambda_client.get_function_concurrency(FunctionName=name)
        functions[name] = {
            "runtime": function.get("Runtime"),
            "architectures": function.get("Architectures", []),
            "role": function.get("Role"),
            "subnets": sorted(function.get("VpcConfig", {}).get("SubnetIds", [])),
            "security_groups": sorted(function.get("VpcConfig", {}).get("SecurityGroupIds", [])),
            "environment": function.get("Environment", {}).get("Variables", {}),
            "reserved_concurrency": concurrency.get("ReservedConcurrentExecutions"),
            "kms_key_arn": function.get("KMSKeyArn"),
            # Which artifact the function runs, as the hex SHA-256 of the zip (Lambda gives it in base64):
            # `cargo xtask pipeline` compares it with the zip that the build job made.
            "code_sha256": base64.b64decode(function.get("CodeSha256") or "").hex(),
        }

    apigateway = session.client("apigatewayv2")
    domain = None
    for item in apigateway.get_domain_names().get("Items", []):
        if item["DomainName"] == request["domain"]:
            configuration = (item.get("DomainNameConfigurations") or [{}])[0]
            mappings = apigateway.get_api_mappings(DomainName=request["domain"]).get("Items", [])
            domain = {
                "endpoint_type": configuration.get("EndpointType"),
                "security_policy": configuration.get("SecurityPolicy"),
                "certificate_arn": configuration.get("CertificateArn"),
                "api_ids": sorted(mapping["ApiId"] for mapping in mappings),
            }

    records = []
    if request.get("hosted_zone_id"):
        try:
            sets = session.client("route53").list_resource_record_sets(HostedZoneId=request["hosted_zone_id"])
            records = [
                {"name": record["Name"].rstrip("."), "type": record["Type"]}
                for record in sets["ResourceRecordSets"]
                if record["Name"].rstrip(".") == request["domain"]
            ]
        except ClientError:
            records = []

    objects = []
    if request.get("bucket"):
        try:
            listed = session.client("s3").list_objects_v2(Bucket=request["bucket"], Prefix=request["prefix"])
            objects = [item["Key"] for item in listed.get("Contents", [])]
        except ClientError:
            objects = []

    # The account layer's GitLab OIDC provider: IAM is global, and the stages' roles trust it by ARN.
    oidc_providers = [provider["Arn"] for provider in
                      session.client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]]

    print(json.dumps({"stacks": stacks, "functions": functions, "domain": domain, "records": records,
                      "objects": objects, "oidc_providers": oidc_providers}))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
