variable "partition" {
  description = "AWS partition of every ARN (data.aws_partition.current.partition)."
  type        = string
  validation {
    condition     = contains(["aws", "aws-cn", "aws-us-gov"], var.partition)
    error_message = "partition must be aws, aws-cn or aws-us-gov."
  }
}

variable "region" {
  description = "Region of the stage (the API, the function, the stack and its buckets)."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must look like eu-central-1."
  }
}

variable "account_id" {
  description = "Account that holds the stage."
  type        = string
  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be 12 digits."
  }
}

variable "stage" {
  description = "Stage name; every name and scope below is derived from it."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.stage))
    error_message = "stage must match ^[a-z][a-z0-9-]{1,15}$."
  }
}

variable "service_name" {
  description = "Serverless service name (serverless.yml `service`); the stack is <service_name>-<stage>."
  type        = string
  default     = "pmp-api"
}

variable "stack_name" {
  description = "The Serverless CloudFormation stack (root local.stack_name)."
  type        = string
  validation {
    condition     = var.stack_name == "${var.service_name}-${var.stage}"
    error_message = "stack_name must be <service_name>-<stage>: the deployment scope and the Serverless naming rely on it."
  }
}

variable "function_name" {
  description = "The one function (root local.function_name)."
  type        = string
  validation {
    condition     = startswith(var.function_name, "${var.stack_name}-")
    error_message = "function_name must start with <stack_name>- (Serverless names functions <service>-<stage>-<name>)."
  }
}

variable "deployment_bucket_name" {
  description = "Central Serverless deployment bucket (provider.deploymentBucket.name)."
  type        = string
}

variable "data_bucket_name" {
  description = "Bucket the function reads large objects from."
  type        = string
}

variable "kms_key_arn" {
  description = "Stage KMS key that encrypts both buckets (SSE-KMS with bucket keys)."
  type        = string
  validation {
    condition     = can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/", var.kms_key_arn))
    error_message = "kms_key_arn must be a key ARN (arn:...:key/...), not an alias: grants and conditions match key ARNs."
  }
}

variable "proxy_resource_id" {
  description = "RDS Proxy resource id (prx-...), the resource of rds-db:connect."
  type        = string
  validation {
    condition     = startswith(var.proxy_resource_id, "prx-")
    error_message = "proxy_resource_id must be the prx-... id from the proxy ARN, not its name."
  }
}

variable "db_user" {
  description = "Database role the API function connects as with an IAM token (pmp_api: DML only, no DDL)."
  type        = string

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.db_user))
    error_message = "db_user must be a lower-case PostgreSQL role name (it is part of the rds-db:connect ARN)."
  }
}

variable "migrator_db_user" {
  description = "Database role the migration function connects as with an IAM token (pmp_migrator: owns the schema)."
  type        = string
  default     = "pmp_migrator"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.migrator_db_user)) && var.migrator_db_user != var.db_user
    error_message = "migrator_db_user must be a lower-case PostgreSQL role name, different from db_user: the API must not be able to sign in as the schema owner."
  }
}

variable "private_subnet_ids" {
  description = "Subnets the function's network interfaces live in."
  type        = list(string)
  validation {
    condition     = length(var.private_subnet_ids) > 0 && alltrue([for s in var.private_subnet_ids : startswith(s, "subnet-")])
    error_message = "private_subnet_ids must be a non-empty list of subnet-... ids."
  }
}

variable "lambda_security_group_id" {
  description = "Security group of the function's network interfaces."
  type        = string
  validation {
    condition     = startswith(var.lambda_security_group_id, "sg-")
    error_message = "lambda_security_group_id must be an sg-... id."
  }
}

variable "api_domain_name" {
  description = "The API's custom domain (serverless-domain-manager customDomain.domainName)."
  type        = string
}

variable "hosted_zone_id" {
  description = "Route 53 zone that holds api_domain_name (customDomain.hostedZoneId)."
  type        = string
}

variable "alias_record_types" {
  description = "Record types serverless-domain-manager writes for the domain: A, plus AAAA only with createRoute53IPv6Record (serverless.yml sets it false)."
  type        = list(string)
  default     = ["A"]
  validation {
    condition     = length(var.alias_record_types) > 0 && alltrue([for t in var.alias_record_types : contains(["A", "AAAA"], t)])
    error_message = "alias_record_types is a non-empty subset of A and AAAA."
  }
}

variable "ssm_parameter_prefix" {
  description = "Prefix of the stage's SSM parameters, without leading or trailing slash (pmp/<stage>)."
  type        = string
  default     = null
}

variable "stage_tag_key" {
  description = "Tag key that osls puts on the stack (and CloudFormation propagates to the API) with the stage as value: `STAGE`."
  type        = string
  default     = "STAGE"
}

variable "cloudformation_resource_types" {
  description = "Resource types of the generated Serverless template; the deployment role gets exactly the handler permissions of these types. Each must be in cfn-handler-permissions.json."
  type        = list(string)
  default = [
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::Stage",
    "AWS::CloudWatch::Alarm",
    "AWS::Lambda::Function",
    "AWS::Lambda::Permission",
    "AWS::Logs::LogGroup",
  ]
}

variable "cloudformation_handler_operations" {
  description = "Handler operations a stack runs: create, read, update, delete. `list` only serves resource discovery (Cloud Control, IaC generator), never a stack operation."
  type        = list(string)
  default     = ["create", "read", "update", "delete"]
  validation {
    condition     = alltrue([for op in var.cloudformation_handler_operations : contains(["create", "read", "update", "delete", "list"], op)])
    error_message = "operations are create, read, update, delete, list."
  }
}

variable "excluded_handler_actions" {
  description = "Handler actions deliberately NOT granted to the deployment role, each with the reason (a feature this stack does not configure, or a name that is not an IAM action). Everything else the handlers list is granted."
  type        = map(string)
  default = {
    "s3:REST.PUT.OBJECT"                     = "not an IAM action (an S3 access-log operation name copied into the LogGroup schema)"
    "apigateway:TagResource"                 = "not an IAM action: API Gateway authorizes TagResource as apigateway:POST on /tags/* (Sid ApiGatewayTagApis)"
    "apigateway:UntagResource"               = "not an IAM action: API Gateway authorizes UntagResource as apigateway:DELETE on /tags/* (Sid ApiGatewayTagApis)"
    "firehose:TagDeliveryStream"             = "log delivery to Firehose is not configured on any log group"
    "logs:DeleteResourcePolicy"              = "LogGroup ResourcePolicyDocument is not used; account-wide like PutResourcePolicy"
    "logs:PutIndexPolicy"                    = "LogGroup FieldIndexPolicies are not used; no resource-level permission"
    "logs:DeleteIndexPolicy"                 = "LogGroup FieldIndexPolicies are not used; no resource-level permission"
    "logs:PutBearerTokenAuthentication"      = "LogGroup bearer-token ingestion is not used"
    "elasticfilesystem:DescribeMountTargets" = "Lambda FileSystemConfigs (EFS) are not used"
    "s3files:ListMountTargets"               = "Lambda FileSystemConfigs are not used"
    "lambda:PassCapacityProvider"            = "Lambda Managed Instances capacity providers are not used"
    "lambda:GetFunctionScalingConfig"        = "only for Lambda Managed Instances functions (not used); also unknown to parliament 1.6.4"
    "lambda:PutFunctionScalingConfig"        = "only for Lambda Managed Instances functions (not used); also unknown to parliament 1.6.4"
    "logs:PutLogGroupDeletionProtection"     = "LogGroup DeletionProtectionEnabled is not set (CloudFormation owns the log group's life); unknown to parliament 1.6.4"
    "lambda:GetLayerVersion"                 = "the function has no layers"
    "lambda:GetCodeSigningConfig"            = "no CodeSigningConfigArn on the function"
    "lambda:PutFunctionCodeSigningConfig"    = "no CodeSigningConfigArn on the function"
  }
}

variable "gitlab_url" {
  description = "GitLab instance URL: the OIDC issuer and the audience the CI id_token is requested for."
  type        = string
  default     = "https://gitlab.com"
  validation {
    condition     = can(regex("^https://[^/]+[^/]$", var.gitlab_url))
    error_message = "gitlab_url must be https://host without a trailing slash or path (it is the token issuer)."
  }
}

variable "gitlab_project_path" {
  description = "GitLab project allowed to assume the OIDC role: group/project (subgroups allowed)."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$", var.gitlab_project_path))
    error_message = "gitlab_project_path must be group/project, without wildcards."
  }
}

variable "gitlab_allowed_refs" {
  description = "Branches whose pipelines may assume the OIDC role; protect them in GitLab."
  type        = list(string)
  default     = ["main"]
  validation {
    condition     = length(var.gitlab_allowed_refs) > 0 && alltrue([for r in var.gitlab_allowed_refs : can(regex("^[A-Za-z0-9._/-]+$", r))])
    error_message = "gitlab_allowed_refs must be a non-empty list of branch names without wildcards."
  }
}

variable "gitlab_release_tag_pattern" {
  description = "Protected tag pattern (GitLab `*` wildcard, e.g. release-*) whose pipelines alone may assume the deploy role. null: the branches in gitlab_allowed_refs may. A protected stage must set it: AWS sees only the token's sub (project, ref type, ref), never the GitLab environment."
  type        = string
  default     = null
  validation {
    condition     = var.gitlab_release_tag_pattern == null || can(regex("^[A-Za-z0-9._/-]+\\*?$", var.gitlab_release_tag_pattern))
    error_message = "gitlab_release_tag_pattern must be a tag name or prefix, optionally ending in one `*` (e.g. release-*)."
  }
}

variable "state_bucket_name" {
  description = "The bootstrap state bucket (pmp-terraform-state-<account>-<region>, cloudformation/terraform-state.yml). null: derived from account and region."
  type        = string
  default     = null
}

variable "bootstrap_stack_names" {
  description = "The bootstrap stacks whose outputs `cargo xtask plan` reads before `terraform init` (xtask/src/names.rs: KMS_KEY_STACK, STATE_STACK)."
  type        = list(string)
  default     = ["pmp-bootstrap-kms-key", "pmp-bootstrap-terraform-state"]
  nullable    = false

  validation {
    condition     = alltrue([for stack in var.bootstrap_stack_names : can(regex("^pmp-bootstrap-[a-z0-9-]+$", stack))])
    error_message = "bootstrap_stack_names are the pmp-bootstrap-* stacks of cloudformation/."
  }
}
