"""moto 5.2.5: an AWS::Lambda::Function made by CloudFormation keeps only some of its template's properties
(`LambdaFunction.create_from_cloudformation_json` copies Description, MemorySize, Publish, Timeout, VpcConfig,
Environment and ReservedConcurrentExecutions). Architectures falls back to x86_64 and KmsKeyArn to none, although the
Lambda API of the same emulator stores both - so the function osls deploys for arm64 reads back as x86_64.

Compensation: after the emulator's own creation, set the two properties the rehearsal checks from the template, as
CloudFormation does (CFN's `KmsKeyArn` is the API's `KMSKeyArn`). A template without them still reads back with
Lambda's defaults.
"""

from moto.awslambda.models import LambdaFunction

_create = LambdaFunction.create_from_cloudformation_json.__func__


def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    function = _create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    properties = cloudformation_json.get("Properties", {})
    if properties.get("Architectures"):
        function.architectures = list(properties["Architectures"])
    if properties.get("KmsKeyArn"):
        function.kms_key_arn = properties["KmsKeyArn"]
    return function


LambdaFunction.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)
