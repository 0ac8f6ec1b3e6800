#!/bin/sh
# A recording stand-in for `aws` and `terraform` inside the pipeline's jobs: it appends the job, the identity the job's
# credential set-up chose and the command line to $PMP_PIPELINE_RECORD. Then, for `aws` in a job whose AWS side is the
# emulator (PMP_PIPELINE_AWS=emulator), it runs the real AWS CLI against the emulator ($PMP_PIPELINE_EMULATOR_AWS, the
# rehearsal's wrapper); everywhere else it answers as the real tool would.
tool="$(basename "$0")"
# The credentials as the AWS tools would see them: the role and the token file's content, or the access key id.
if [ -n "$AWS_ROLE_ARN" ]; then
  mode="oidc:$(cat "$AWS_WEB_IDENTITY_TOKEN_FILE" 2>/dev/null):$AWS_ROLE_ARN"
else
  mode="keys:$AWS_ACCESS_KEY_ID"
fi
echo "$CI_JOB_NAME|$PMP_IDENTITY|$mode|$tool $*" >> "$PMP_PIPELINE_RECORD"
stage="${CI_JOB_NAME#*:}"
case "$tool $*" in
  # The emulator runs no function code (that needs Docker): the migration function's answer is always the fake's.
  "aws lambda invoke "*) ;;
  "aws "*) if [ "$PMP_PIPELINE_AWS" = emulator ]; then exec "$PMP_PIPELINE_EMULATOR_AWS" "$@"; fi ;;
esac
case "$tool $*" in
  "aws --version") echo "aws-cli/2.17.0 Python/3.11.6 Linux/6" ;;
  "terraform version"|"terraform --version") echo "Terraform v1.11.4" ;;
  "aws sts get-caller-identity"*)
    # Whoever the credentials belong to, in the account the run gives (never what the job claims to be): with oidc the
    # role the set-up exported; with keys the identity the fake key was made for (AKIAFAKE<IDENTITY>), named as
    # docs/iam.md names the principals. xtask then compares that with the job's PMP_IDENTITY.
    if [ -n "$AWS_ROLE_ARN" ]; then
      echo "arn:aws:sts::$PMP_PIPELINE_ACCOUNT:assumed-role/${AWS_ROLE_ARN##*/}/gitlab"
    else
      owner="$(printf '%s' "${AWS_ACCESS_KEY_ID#AKIAFAKE}" | tr '[:upper:]' '[:lower:]')"
      case "$owner" in
        deployer) echo "arn:aws:iam::$PMP_PIPELINE_ACCOUNT:user/pmp-api-$stage-gitlab" ;;
        *) echo "arn:aws:iam::$PMP_PIPELINE_ACCOUNT:user/pmp-api-$stage-$owner" ;;
      esac
    fi ;;
  "aws lambda invoke "*)
    # The migration function's answer, written where the invoke puts it (its last argument).
    eval "answer=\${$#}"
    mkdir -p "$(dirname "$answer")"
    echo '{"applied":[20240101000000],"current_version":20240101000000}' > "$answer"
    echo '{"StatusCode": 200, "ExecutedVersion": "$LATEST"}' ;;
  "aws cloudformation describe-stacks"*) echo "pmp-fake-output" ;;
  "terraform "*" plan "*)
    out="$(printf '%s\n' "$@" | sed -n 's/^-out=//p')"
    printf 'plan made by job %s\n' "$CI_JOB_ID" > "terraform/$out"
    printf '# lock made by job %s\n' "$CI_JOB_ID" > terraform/.terraform.lock.hcl
    echo "planned:$CI_JOB_NAME:$(sha256sum "terraform/$out" | cut -c1-64):$(sha256sum terraform/.terraform.lock.hcl | cut -c1-64)" >> "$PMP_PIPELINE_RECORD" ;;
  "terraform "*" show -json "*) echo '{"resource_changes":[]}' ;;
  "terraform "*" apply "*)
    plan="$(eval echo "\${$#}")"
    echo "applied:$CI_JOB_NAME:$(sha256sum "terraform/$plan" | cut -c1-64):$(sha256sum terraform/.terraform.lock.hcl | cut -c1-64)" >> "$PMP_PIPELINE_RECORD" ;;
esac
exit 0
