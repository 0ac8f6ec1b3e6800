# The read-only plan identity (role <stack>-plan): merge-request plans and plan:prod. Terraform's refresh reads every
# resource of the stage, so it may describe, get and list the services the stage uses; it reads the stage's state and
# writes nothing but the state's lock object. It never reads data: no S3 object but the state, no secret value, no log
# event, no SSM parameter outside the stage's path, no KMS decryption outside S3 reads of the state bucket.
locals {
  plan_statements = [
    {
      # Refresh of the stage's resources. These calls have no resource-level scope worth having (Describe*/List* on
      # EC2, RDS, ACM only accept "*"), and none of them returns data or a secret.
      Sid    = "ReadStageResources"
      Effect = "Allow"
      Action = [
        "acm:DescribeCertificate", "acm:ListCertificates", "acm:ListTagsForCertificate",
        "cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard", "cloudwatch:ListDashboards", "cloudwatch:ListTagsForResource",
        "ec2:Describe*",
        "iam:Get*", "iam:List*",
        "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListResourceTags",
        "logs:DescribeLogGroups", "logs:DescribeMetricFilters", "logs:DescribeResourcePolicies", "logs:ListTagsForResource", "logs:ListTagsLogGroup",
        "rds:Describe*", "rds:ListTagsForResource",
        "route53:GetHostedZone", "route53:ListHostedZones", "route53:ListHostedZonesByName", "route53:ListResourceRecordSets", "route53:ListTagsForResource",
        "s3:GetAccelerateConfiguration", "s3:GetBucket*", "s3:GetEncryptionConfiguration", "s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration",
        "secretsmanager:DescribeSecret",
        "sns:GetSubscriptionAttributes", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource",
        "ssm:DescribeParameters", "ssm:ListTagsForResource",
      ]
      Resource = ["*"]
    },
    {
      # The stage's own parameters (Terraform writes them; all are String/StringList).
      Sid      = "ReadStageParameters"
      Effect   = "Allow"
      Action   = ["ssm:GetParameter", "ssm:GetParameters"]
      Resource = ["arn:${local.p}:ssm:${local.r}:${local.a}:parameter/${local.ssm_prefix}/*"]
    },
    {
      Sid      = "ListStageState"
      Effect   = "Allow"
      Action   = ["s3:ListBucket"]
      Resource = [local.state_bucket_arn]
      Condition = {
        StringLikeIfExists = { "s3:prefix" = ["pmp/${var.stage}/terraform.tfstate*"] }
      }
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
