# Two buckets the stage needs, plus the bucket that receives their access logs. Names: <service>-<stage>-<purpose>-
# <account>-<region> (globally unique, at most 63 characters for a 16-character stage).
locals {
  suffix = "${var.account_id}-${var.region}"
  names = {
    deployment  = "${var.service_name}-${var.stage}-deploy-${local.suffix}"
    data        = "${var.service_name}-${var.stage}-data-${local.suffix}"
    access_logs = "${var.service_name}-${var.stage}-s3logs-${local.suffix}"
  }
  # The buckets encrypted with the stage key; the log bucket cannot be (see below).
  kms_buckets = { deployment = aws_s3_bucket.deployment, data = aws_s3_bucket.data }
  all_buckets = merge(local.kms_buckets, { access_logs = aws_s3_bucket.access_logs })
}

# Central Serverless deployment bucket (serverless.yml provider.deploymentBucket.name); osls writes under
# serverless/<service>/<stage>/.
resource "aws_s3_bucket" "deployment" {
  #checkov:skip=CKV_AWS_144:Artifacts are rebuilt from git by the pipeline; a replica in a second region adds cost, not recovery.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to artifact uploads; CloudFormation reads them synchronously.
  bucket        = local.names.deployment
  force_destroy = var.force_destroy

  lifecycle {
    precondition {
      condition     = length(local.names.deployment) <= 63
      error_message = "Bucket name ${local.names.deployment} is longer than 63 characters."
    }
  }
}

# Large objects the function reads (s3:GetObject through the S3 gateway endpoint).
resource "aws_s3_bucket" "data" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery decision for the data owners, not made here; versioning covers deletion and overwrite.
  #checkov:skip=CKV2_AWS_62:The function reads objects on request; nothing reacts to object events.
  bucket        = local.names.data
  force_destroy = var.force_destroy
}

# Target of S3 server access logging for both buckets. Log delivery only writes to SSE-S3 buckets, so this one
# cannot use the stage key, and logging it to itself would loop.
resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_145:S3 server access log delivery does not support SSE-KMS target buckets; SSE-S3 is used.
  #checkov:skip=CKV_AWS_18:This is the access-log bucket; logging it into itself would loop.
  #checkov:skip=CKV_AWS_144:Access logs are audit data of this region; replicating them is not required.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to log delivery.
  bucket        = local.names.access_logs
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_server_side_encryption_configuration" "kms" {
  for_each = local.kms_buckets

  bucket = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    # One data key per bucket instead of one KMS call per object: cost, throttling, and the bucket ARN as the
    # encryption context the IAM policies match on.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "all" {
  for_each = local.all_buckets

  bucket = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "all" {
  for_each = local.all_buckets

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ACLs disabled: the bucket owner owns every object, access is by policy only.
resource "aws_s3_bucket_ownership_controls" "all" {
  for_each = local.all_buckets

  bucket = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_logging" "kms_buckets" {
  for_each = local.kms_buckets

  bucket        = each.value.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "${each.value.id}/"
}
