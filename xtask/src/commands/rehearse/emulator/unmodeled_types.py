"""moto 5.2.5 has no CloudFormation model for the HTTP API types (AWS::ApiGatewayV2::Api, ::Stage, ::Integration,
::Route) nor for AWS::CloudWatch::Alarm: `resource_class_from_type` logs "No Moto CloudFormation support" and the stack
gets no resource at all under that logical id. A `Ref` to it resolves to nothing (osls's HttpApiId output is empty) and
serverless-domain-manager, which looks the API up with DescribeStackResource(HttpApi), stops with "Failed to find
logicalResourceId 'HttpApi'" although the template is right.

Compensation: minimal models for exactly these types. The API is created for real in moto's own API Gateway v2 backend
(its API supports it), so the domain plugin's CreateApiMapping finds it, and it is deleted with the stack; the others
get a placeholder physical id and hold nothing. Whether their properties are right is cfn-lint's and checkov's job in
`cargo xtask check`, not the emulator's: the rehearsal proves only that the clients get through.
"""

from moto.apigatewayv2.models import apigatewayv2_backends
from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel
from moto.moto_api._internal import mock_random


# moto's model metaclass takes the service from the module path (moto.<service>....), and the model map lists only
# direct subclasses of CloudFormationModel: hence the module name and the mixin.
_MODULE = "moto.cloudformation.rehearsal_compensation"


class _Placeholder:
    def __init__(self, physical_resource_id, account_id, region_name):
        self.physical_resource_id = physical_resource_id
        self.account_id = account_id
        self.region_name = region_name

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        return cls(cls._physical_id(resource_name, cloudformation_json.get("Properties", {})), account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        return original_resource

    @classmethod
    def _physical_id(cls, resource_name, properties):
        return mock_random.get_random_string(length=10, lower_case=True)

    @staticmethod
    def cloudformation_name_type():
        return ""

    def delete(self, account_id, region_name):
        return None


class HttpApi(_Placeholder, CloudFormationModel):
    __module__ = _MODULE

    @staticmethod
    def cloudformation_type():
        return "AWS::ApiGatewayV2::Api"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        api = apigatewayv2_backends[account_id][region_name].create_api(
            api_key_selection_expression=None,
            cors_configuration=properties.get("CorsConfiguration"),
            description=properties.get("Description"),
            disable_schema_validation=None,
            disable_execute_api_endpoint=properties.get("DisableExecuteApiEndpoint"),
            name=properties.get("Name", resource_name),
            protocol_type=properties.get("ProtocolType", "HTTP"),
            route_selection_expression=None,
            tags=properties.get("Tags") or {},
            version=None,
        )
        return cls(api.api_id, account_id, region_name)

    def delete(self, account_id, region_name):
        apigatewayv2_backends[account_id][region_name].delete_api(self.physical_resource_id)


class HttpApiStage(_Placeholder, CloudFormationModel):
    __module__ = _MODULE

    @staticmethod
    def cloudformation_type():
        return "AWS::ApiGatewayV2::Stage"

    @classmethod
    def _physical_id(cls, resource_name, properties):
        return properties.get("StageName", "$default")


class HttpApiIntegration(_Placeholder, CloudFormationModel):
    __module__ = _MODULE

    @staticmethod
    def cloudformation_type():
        return "AWS::ApiGatewayV2::Integration"


class HttpApiRoute(_Placeholder, CloudFormationModel):
    __module__ = _MODULE

    @staticmethod
    def cloudformation_type():
        return "AWS::ApiGatewayV2::Route"


class Alarm(_Placeholder, CloudFormationModel):
    __module__ = _MODULE

    @staticmethod
    def cloudformation_type():
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def _physical_id(cls, resource_name, properties):
        return properties.get("AlarmName", resource_name)


# The model map is built once from CloudFormationModel's subclasses: rebuild it with these.
parsing.get_model_map.cache_clear()
parsing.get_name_type_map.cache_clear()
