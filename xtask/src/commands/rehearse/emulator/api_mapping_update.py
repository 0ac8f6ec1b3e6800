"""moto 5.2.5 does not implement API Gateway v2's UpdateApiMapping ("The update_api_mapping action has not been
implemented"). serverless-domain-manager calls it on every `serverless deploy` after the first, when the domain's
mapping to the API exists already (it re-points it at the stack's API): the rerun of `deploy` fails in the emulator only.

Compensation: UpdateApiMapping, as the API reference describes it - the mapping keeps its id, and takes the API, key and
stage given; an unknown domain or mapping fails as the emulator's GetApiMapping does.
https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/domainnames-domainname-apimappings-apimappingid.html
"""

import json

from moto.apigatewayv2.responses import ApiGatewayV2Response


def update_api_mapping(self):
    api_mapping_id = self.path.split("/")[-1]
    domain_name = self.path.split("/")[-3]
    mapping = self.apigatewayv2_backend.get_api_mapping(api_mapping_id=api_mapping_id, domain_name=domain_name)
    params = json.loads(self.body or "{}")
    mapping.api_id = params.get("apiId", mapping.api_id)
    mapping.api_mapping_key = params.get("apiMappingKey", mapping.api_mapping_key)
    mapping.stage = params.get("stage", mapping.stage)
    return 200, {}, json.dumps(mapping.to_json())


ApiGatewayV2Response.update_api_mapping = update_api_mapping
