# The read-only plan identity (role <stack>-plan): merge-request plans and plan:prod. Terraform's refresh reads every
# resource of the stage, so it may describe, get and list what the stage's resource types read (every action named); it reads the stage's state and
# writes nothing but the state's lock object. It never reads data: no S3 object but the state, no secret value, no log
# event, no SSM parameter outside the stage's path, no KMS decryption outside S3 reads of the state bucket.
locals {
  # The stage's buckets (deployment, data, access logs): <service>-<stage>-<purpose>-<account>-<region>.
  stage_buckets_arn = "arn:${local.p}:s3:::${var.service_name}-${var.stage}-*-${local.a}-${local.r}"

  plan_statements = [
    {
      # Reads that IAM authorizes only on "*" (no resource-level permissions); none returns data or a secret.
      Sid    = "ReadWithoutResourceScope"
      Effect = "Allow"
      Action = [
        "acm:ListCertificates",
        # DescribeAddressesAttribute: the provider's aws_eip read fetches the address's PTR record with it (6.x).
        "ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute", "ec2:DescribeAvailabilityZones", "ec2:DescribeFlowLogs", "ec2:DescribeInternetGateways",
        "ec2:DescribeNatGateways", "ec2:DescribeNetworkAcls", "ec2:DescribeNetworkInterfaces", "ec2:DescribePrefixLists",
        "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets",
        "ec2:DescribeTags", "ec2:DescribeVpcEndpoints", "ec2:DescribeVpcs",
        "kms:ListAliases",
        "logs:DescribeLogGroups",
        "route53:ListHostedZones", "route53:ListHostedZonesByName",
        "sns:GetSubscriptionAttributes",
        "ssm:DescribeParameters",
      ]
      Resource = ["*"]
    },
    {
      # Refresh of the stage's resources that IAM can scope: this account and region, and the project's buckets.
      Sid    = "ReadStageResources"
      Effect = "Allow"
      Action = [
        "acm:DescribeCertificate", "acm:ListTagsForCertificate",
        "cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard", "cloudwatch:ListTagsForResource",
        "ec2:DescribeVpcAttribute",
        "iam:GetGroup", "iam:GetOpenIDConnectProvider", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetRole",
        "iam:GetRolePolicy", "iam:GetUser", "iam:ListAttachedGroupPolicies", "iam:ListAttachedRolePolicies",
        "iam:ListGroupsForUser", "iam:ListPolicyVersions", "iam:ListRolePolicies",
        "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags",
        "logs:ListTagsForResource", "logs:ListTagsLogGroup",
        "rds:DescribeDBInstances", "rds:DescribeDBParameterGroups", "rds:DescribeDBParameters", "rds:DescribeDBProxies",
        "rds:DescribeDBProxyTargetGroups", "rds:DescribeDBProxyTargets", "rds:DescribeDBSubnetGroups",
        "rds:ListTagsForResource",
        "route53:GetHostedZone", "route53:ListResourceRecordSets", "route53:ListTagsForResource",
        "s3:GetAccelerateConfiguration", "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketLogging",
        "s3:GetBucketObjectLockConfiguration", "s3:GetBucketOwnershipControls", "s3:GetBucketPolicy",
        "s3:GetBucketPublicAccessBlock", "s3:GetBucketRequestPayment", "s3:GetBucketTagging", "s3:GetBucketVersioning",
        "s3:GetBucketWebsite", "s3:GetEncryptionConfiguration", "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
        "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource",
        "ssm:ListTagsForResource",
      ]
      Resource = [
        "arn:${local.p}:acm:${local.r}:${local.a}:certificate/*",
        "arn:${local.p}:cloudwatch:${local.r}:${local.a}:alarm:*",
        "arn:${local.p}:cloudwatch::${local.a}:dashboard/*",
        "arn:${local.p}:ec2:${local.r}:${local.a}:vpc/*",
        "arn:${local.p}:iam::${local.a}:group/*",
        "arn:${local.p}:iam::${local.a}:oidc-provider/*",
        "arn:${local.p}:iam::${local.a}:policy/*",
        "arn:${local.p}:iam::${local.a}:role/*",
        "arn:${local.p}:iam::${local.a}:user/*",
        "arn:${local.p}:kms:${local.r}:${local.a}:key/*",
        "arn:${local.p}:logs:${local.r}:${local.a}:log-group:*",
        "arn:${local.p}:rds:${local.r}:${local.a}:*",
        "arn:${local.p}:route53:::hostedzone/${var.hosted_zone_id}",
        local.stage_buckets_arn,
        local.state_bucket_arn,
        "arn:${local.p}:sns:${local.r}:${local.a}:*",
        "arn:${local.p}:ssm:${local.r}:${local.a}:parameter/${local.ssm_prefix}/*",
      ]
    },
    {
      # HeadBucket of the stage's buckets and the state bucket (authorized as ListBucket): key names only, never an
      # object's content.
      Sid      = "ListStageBuckets"
      Effect   = "Allow"
      Action   = ["s3:ListBucket"]
      Resource = [local.stage_buckets_arn, local.state_bucket_arn]
    },
    {
      # The stage's own parameters (Terraform writes them; all are String/StringList).
      Sid      = "ReadStageParameters"
      Effect   = "Allow"
      Action   = ["ssm:GetParameter", "ssm:GetParameters"]
      Resource = ["arn:${local.p}:ssm:${local.r}:${local.a}:parameter/${local.ssm_prefix}/*"]
    },
    {
      # `cargo xtask plan` and `drift` read the backend settings (state bucket, key ARN) from the bootstrap stacks'
      # outputs before `terraform init` (xtask/src/commands/terraform.rs).
      Sid      = "ReadBootstrapOutputs"
      Effect   = "Allow"
      Action   = ["cloudformation:DescribeStacks"]
      Resource = [for stack in var.bootstrap_stack_names : "arn:${local.p}:cloudformation:${local.r}:${local.a}:stack/${stack}/*"]
    },
    {
      Sid      = "ReadStageState"
      Effect   = "Allow"
      Action   = ["s3:GetObject"]
      Resource = [local.state_object_arn, local.state_lock_arn]
    },
    {
      # The only write: the S3-native lock object beside the state (use_lockfile = true), created and deleted by
      # every plan.
      Sid      = "WriteStateLock"
      Effect   = "Allow"
      Action   = ["s3:DeleteObject", "s3:PutObject"]
      Resource = [local.state_lock_arn]
    },
    {
      # The state bucket is SSE-KMS with the bootstrap key: reading the state decrypts, writing the lock encrypts.
      Sid      = "StateKeyViaS3"
      Effect   = "Allow"
      Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
      Resource = ["arn:${local.p}:kms:${local.r}:${local.a}:key/*"]
      Condition = {
        StringEquals = {
          "kms:ViaService"                   = local.s3_service
          "kms:EncryptionContext:aws:s3:arn" = local.state_bucket_arn
        }
      }
    },
  ]

  plan_policy = jsonencode({ Version = "2012-10-17", Statement = local.plan_statements })
}
