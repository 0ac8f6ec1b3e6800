# Partial configuration on purpose: `cargo xtask plan` completes it at init from the bootstrap stacks' outputs with
#   -backend-config=bucket=<StateBucketName> -backend-config=key=pmp/<stage>/terraform.tfstate
#   -backend-config=region=<region> -backend-config=encrypt=true -backend-config=kms_key_id=<bootstrap KeyArn>
#   -backend-config=use_lockfile=true
# so one code base serves every stage and account. Locking is S3-native (a lock object beside the state): no DynamoDB.
terraform {
  backend "s3" {}
}
