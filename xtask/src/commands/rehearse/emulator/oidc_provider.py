"""moto 5.2.5 has no CloudFormation model for AWS::IAM::OIDCProvider (its IAM API has the provider, its CloudFormation
does not): the account layer stack (cloudformation/account.yml) gets no resource under GitLabOidcProvider, and its
`!GetAtt GitLabOidcProvider.Arn` output stops CreateChangeSet with "Fn::GetAtt references undefined resource".

Compensation: a minimal model that creates the provider for real in moto's own IAM backend (Ref and GetAtt Arn give its
ARN, as in AWS), so a stage could find it there afterwards. The template's DeletionPolicy Retain is CloudFormation's
business: this model's delete is only reached when CloudFormation would delete the provider.
"""

from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel
from moto.iam.models import iam_backends

# See unmodeled_types.py: moto takes the service from the module path, and lists only direct subclasses.
_MODULE = "moto.cloudformation.rehearsal_compensation"


class OidcProvider(CloudFormationModel):
    __module__ = _MODULE

    def __init__(self, arn, account_id):
        self.arn = arn
        self.account_id = account_id

    @property
    def physical_resource_id(self):
        return self.arn

    @staticmethod
    def cloudformation_type():
        return "AWS::IAM::OIDCProvider"

    @staticmethod
    def cloudformation_name_type():
        return ""

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name):
        if attribute_name == "Arn":
            return self.arn
        raise NotImplementedError(f"AWS::IAM::OIDCProvider has no attribute {attribute_name} in this model")

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        provider = iam_backends[account_id]["global"].create_open_id_connect_provider(
            url=properties["Url"],
            thumbprint_list=properties.get("ThumbprintList", []),
            client_id_list=properties.get("ClientIdList", []),
            tags=properties.get("Tags", []),
        )
        return cls(provider.arn, account_id)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        return original_resource

    def delete(self, account_id, region_name):
        iam_backends[account_id]["global"].delete_open_id_connect_provider(self.arn)


parsing.get_model_map.cache_clear()
parsing.get_name_type_map.cache_clear()
