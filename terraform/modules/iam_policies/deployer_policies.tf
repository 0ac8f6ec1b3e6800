# The GitLab deployer's customer-managed policies, one per concern, covering every call that `serverless
# deploy/remove/package/create_domain/delete_domain` and `cargo xtask migrate` make with the CALLER's credentials
# (../shared/data/serverless-deploy-api-calls.json; the table in docs/iam.md maps each call to its Sid).
# Everything CloudFormation does to the stack's resources happens as the deployment role, not as the deployer.
locals {
  deployer_policies = {
    # Stack lifecycle through change sets, always with the stage's deployment role.
    "deploy-stack" = {
      description = "Deploy and remove the ${var.stack_name} CloudFormation stack through change sets, as the deployment role"
      statements = [
        {
          Sid    = "ReadStageStack"
          Effect = "Allow"
          Action = [
            "cloudformation:DescribeChangeSet",
            "cloudformation:DescribeStackEvents",
            "cloudformation:DescribeStackResource",
            "cloudformation:DescribeStacks",
            "cloudformation:ListStackResources",
          ]
          Resource = [local.stack_arn]
        },
        {
          # Only with the stage's deployment role and a template from the stage's artifact prefix.
          Sid      = "CreateChangeSetAsDeploymentRole"
          Effect   = "Allow"
          Action   = ["cloudformation:CreateChangeSet"]
          Resource = [local.stack_arn]
          Condition = {
            ArnEquals  = { "cloudformation:RoleArn" = local.cloudformation_role_arn }
            StringLike = { "cloudformation:TemplateUrl" = local.template_url_prefixes }
          }
        },
        {
          # osls sends Tags (STAGE, stackTags) with CreateChangeSet: tag-on-create of the stack. ExecuteChangeSet
          # runs the change set created above (with its RoleARN); UpdateTerminationProtection only if
          # provider.deletionProtection is set.
          Sid    = "ManageStageStackChangeSets"
          Effect = "Allow"
          Action = [
            "cloudformation:DeleteChangeSet",
            "cloudformation:ExecuteChangeSet",
            "cloudformation:TagResource",
            "cloudformation:UpdateTerminationProtection",
          ]
          Resource = [local.stack_arn]
        },
        {
          # serverless remove: the stack's resources are deleted by the deployment role, never by the deployer.
          Sid       = "DeleteStageStackAsDeploymentRole"
          Effect    = "Allow"
          Action    = ["cloudformation:DeleteStack"]
          Resource  = [local.stack_arn]
          Condition = { ArnEquals = { "cloudformation:RoleArn" = local.cloudformation_role_arn } }
        },
        {
          # ValidateTemplate has no resource-level permissions (Resource must be "*"); the condition keeps it to the
          # stage's uploaded templates.
          Sid       = "ValidateStageTemplates"
          Effect    = "Allow"
          Action    = ["cloudformation:ValidateTemplate"]
          Resource  = ["*"]
          Condition = { StringLike = { "cloudformation:TemplateUrl" = local.template_url_prefixes } }
        },
        {
          # CreateChangeSet/DeleteStack pass provider.iam.deploymentRole (RoleARN). The Lambda execution role is
          # passed by CloudFormation as the deployment role, so the deployer never passes it.
          Sid       = "PassDeploymentRoleToCloudFormation"
          Effect    = "Allow"
          Action    = ["iam:PassRole"]
          Resource  = [local.cloudformation_role_arn]
          Condition = { StringEquals = { "iam:PassedToService" = "cloudformation.amazonaws.com" } }
        },
        {
          # An IMPORT change set adopts existing resources into the stack, and the deployment role would then manage
          # them: with a shared account, another stage's. osls never imports. The key is present only in import
          # requests (the import type is fixed when the change set is created, so denying creation suffices); the statement follows the CloudFormation guide's "Deny all CloudFormation import operations"
          # example: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/security_iam_id-based-policy-examples.html
          Sid      = "DenyImportChangeSets"
          Effect   = "Deny"
          Action   = ["cloudformation:CreateChangeSet"]
          Resource = ["*"]
          Condition = {
            "ForAnyValue:StringLike" = { "cloudformation:ImportResourceTypes" = ["*"] }
          }
        },
        {
          # Change detection (LastModified); without it every deploy is a full one.
          Sid      = "ReadStageFunctionForChangeDetection"
          Effect   = "Allow"
          Action   = ["lambda:GetFunction"]
          Resource = local.stack_function_arns
        },
      ]
    }

    # The stage's prefix of the central deployment bucket.
    "deploy-artifacts" = {
      description = "Upload, read and prune ${var.stack_name} artifacts under ${local.artifact_prefix} in the deployment bucket"
      statements = [
        {
          # HeadBucket (existence/region check) is authorized as ListBucket without a prefix; listings must stay in
          # the stage's prefix.
          Sid      = "ListStagePrefix"
          Effect   = "Allow"
          Action   = ["s3:ListBucket"]
          Resource = [local.deployment_bucket_arn]
          Condition = {
            StringLikeIfExists = { "s3:prefix" = [local.artifact_prefix, "${local.artifact_prefix}*"] }
          }
        },
        {
          Sid      = "LocateDeploymentBucket"
          Effect   = "Allow"
          Action   = ["s3:GetBucketLocation"]
          Resource = [local.deployment_bucket_arn]
        },
        {
          # GetObject also covers CloudFormation reading the template with the caller's identity.
          Sid      = "ReadWriteStageArtifacts"
          Effect   = "Allow"
          Action   = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
          Resource = [local.artifact_objects_arn]
        },
        {
          # SSE-KMS with the stage key and a bucket key: the encryption context is the bucket ARN.
          Sid      = "EncryptArtifactsViaS3"
          Effect   = "Allow"
          Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
          Resource = [var.kms_key_arn]
          Condition = {
            StringEquals = {
              "kms:ViaService"                   = local.s3_service
              "kms:EncryptionContext:aws:s3:arn" = local.deployment_bucket_arn
            }
          }
        },
      ]
    }

    # serverless-domain-manager: the one custom domain, its API mapping and its alias records.
    "deploy-domain" = {
      description = "Create, map and delete the custom domain ${var.api_domain_name} and its Route 53 alias records"
      statements = [
        {
          # CreateDomainName is a POST on the collection; an id-free ARN, so it cannot be name-scoped.
          Sid      = "CreateDomainName"
          Effect   = "Allow"
          Action   = ["apigateway:POST"]
          Resource = ["${local.apigw}/domainnames"]
        },
        {
          Sid      = "ManageStageDomainName"
          Effect   = "Allow"
          Action   = ["apigateway:DELETE", "apigateway:GET"]
          Resource = ["${local.apigw}/domainnames/${var.api_domain_name}"]
        },
        {
          Sid    = "ManageStageDomainApiMappings"
          Effect = "Allow"
          Action = ["apigateway:DELETE", "apigateway:GET", "apigateway:PATCH", "apigateway:POST"]
          Resource = [
            "${local.apigw}/domainnames/${var.api_domain_name}/apimappings",
            "${local.apigw}/domainnames/${var.api_domain_name}/apimappings/*",
          ]
        },
        {
          # Tag-on-create of the domain name when provider.tags/stackTags are set: /tags/<url-encoded domain ARN>.
          Sid      = "TagStageDomainName"
          Effect   = "Allow"
          Action   = ["apigateway:POST"]
          Resource = ["${local.apigw}/tags/*domainnames*${var.api_domain_name}"]
        },
        {
          # Alias records of the domain only (UPSERT on create_domain, DELETE on delete_domain).
          Sid      = "ChangeStageDomainAliasRecords"
          Effect   = "Allow"
          Action   = ["route53:ChangeResourceRecordSets"]
          Resource = ["arn:${local.p}:route53:::hostedzone/${var.hosted_zone_id}"]
          Condition = {
            "ForAllValues:StringEquals" = {
              "route53:ChangeResourceRecordSetsNormalizedRecordNames" = [lower(trimsuffix(var.api_domain_name, "."))]
              "route53:ChangeResourceRecordSetsRecordTypes"           = var.alias_record_types
              "route53:ChangeResourceRecordSetsActions"               = ["UPSERT", "DELETE"]
            }
          }
        },
        {
          # First custom domain of the account only: API Gateway's service-linked role.
          Sid       = "CreateApiGatewayServiceLinkedRole"
          Effect    = "Allow"
          Action    = ["iam:CreateServiceLinkedRole"]
          Resource  = ["arn:${local.p}:iam::${local.a}:role/aws-service-role/ops.apigateway.amazonaws.com/AWSServiceRoleForAPIGateway"]
          Condition = { StringEquals = { "iam:AWSServiceName" = "ops.apigateway.amazonaws.com" } }
        },
      ]
    }

    # ${ssm:/pmp/<stage>/...} variables in serverless.yml; all are String/StringList, so no kms:Decrypt.
    "read-config" = {
      description = "Read the ${var.stage} stage's SSM parameters under /${local.ssm_prefix}/"
      statements = [
        {
          Sid    = "ReadStageParameters"
          Effect = "Allow"
          Action = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"]
          Resource = [
            "arn:${local.p}:ssm:${local.r}:${local.a}:parameter/${local.ssm_prefix}",
            "arn:${local.p}:ssm:${local.r}:${local.a}:parameter/${local.ssm_prefix}/*",
          ]
        },
      ]
    }

    # cargo xtask migrate: aws lambda invoke on the stage's migration function, unqualified (the API function
    # refuses the command anyway).
    "invoke-migrate" = {
      description = "Invoke ${local.migration_function_name} with the migrate or status command"
      statements = [
        {
          Sid      = "InvokeStageMigrationFunction"
          Effect   = "Allow"
          Action   = ["lambda:InvokeFunction"]
          Resource = local.invoked_function_arns
        },
      ]
    }
  }

  deployer_policy_documents = {
    for concern, p in local.deployer_policies : concern => jsonencode({ Version = "2012-10-17", Statement = p.statements })
  }
}
