# Bucket policies: TLS only everywhere; the log bucket additionally lets the S3 logging service write, only for the
# two source buckets of this account.
locals {
  deny_insecure_transport = {
    for k, b in local.all_buckets : k => {
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [b.arn, "${b.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }
  }
}

resource "aws_s3_bucket_policy" "kms_buckets" {
  for_each = local.kms_buckets

  bucket = each.value.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [local.deny_insecure_transport[each.key]]
  })

  depends_on = [aws_s3_bucket_public_access_block.all]
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      local.deny_insecure_transport["access_logs"],
      {
        Sid       = "S3ServerAccessLogDelivery"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.access_logs.arn}/*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = var.account_id }
          ArnLike      = { "aws:SourceArn" = [for b in local.kms_buckets : b.arn] }
        }
      },
    ]
  })

  depends_on = [aws_s3_bucket_public_access_block.all]
}
