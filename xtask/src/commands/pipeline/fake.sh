#!/bin/sh
# A recording stand-in for `aws` and `terraform` inside the pipeline's jobs: it appends the job, the identity the job's
# credential set-up chose and the command line to $PMP_PIPELINE_RECORD, then answers as the real tool would.
tool="$(basename "$0")"
if [ -n "$AWS_ROLE_ARN" ]; then mode="oidc:$(cat "$AWS_WEB_IDENTITY_TOKEN_FILE" 2>/dev/null)"; else mode="keys:$AWS_ACCESS_KEY_ID"; fi
echo "$CI_JOB_NAME|$PMP_IDENTITY|$mode|$tool $*" >> "$PMP_PIPELINE_RECORD"
case "$tool $*" in
  "aws --version") echo "aws-cli/2.17.0 Python/3.11.6 Linux/6" ;;
  "terraform version"|"terraform --version") echo "Terraform v1.11.4" ;;
  "aws sts get-caller-identity"*) echo "arn:aws:sts::123456789012:assumed-role/pmp-api-dev-$PMP_IDENTITY/gitlab" ;;
  "aws cloudformation describe-stacks"*) echo "pmp-fake-output" ;;
  "terraform "*" plan "*)
    out="$(printf '%s\n' "$@" | sed -n 's/^-out=//p')"
    printf 'plan made by job %s\n' "$CI_JOB_ID" > "terraform/$out"
    printf '# lock made by job %s\n' "$CI_JOB_ID" > terraform/.terraform.lock.hcl
    echo "planned:$(sha256sum "terraform/$out" | cut -c1-64):$(sha256sum terraform/.terraform.lock.hcl | cut -c1-64)" >> "$PMP_PIPELINE_RECORD" ;;
  "terraform "*" show -json "*) echo '{"resource_changes":[]}' ;;
  "terraform "*" apply "*)
    plan="$(eval echo "\${$#}")"
    echo "applied:$(sha256sum "terraform/$plan" | cut -c1-64):$(sha256sum terraform/.terraform.lock.hcl | cut -c1-64)" >> "$PMP_PIPELINE_RECORD" ;;
esac
exit 0
