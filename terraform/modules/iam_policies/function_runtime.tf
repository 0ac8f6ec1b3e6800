# What every function of the stage needs at run time, whatever its job: write its own logs and traces, decrypt its own
# environment, and let Lambda manage its network interfaces in the private subnets. One definition for both execution
# roles, so the API's (lambda_role.tf) and the migration function's (migration_role.tf) cannot drift apart; each role
# adds only what its own job needs.
locals {
  function_runtime_statements = {
    for name in [var.function_name, local.migration_function_name] : name => [
      {
        # CloudFormation creates the log group (with retention and the stage key); the function only writes to it.
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["arn:${local.p}:logs:${local.r}:${local.a}:log-group:/aws/lambda/${name}:*"]
      },
      {
        # X-Ray has no resource-level permissions: Resource must be "*".
        Sid      = "WriteTraces"
        Effect   = "Allow"
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        Resource = ["*"]
      },
      {
        # Environment variables are encrypted with the stage key (provider.kmsKeyArn); Lambda decrypts them at start
        # with this role. The context names the function, so no other function's variables.
        Sid      = "DecryptOwnEnvironment"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.kms_key_arn]
        Condition = {
          StringEquals = { "kms:EncryptionContext:LambdaFunctionName" = name }
        }
      },
      {
        # Lambda creates the function's ENIs with this role: only in the private subnets, with the function's group.
        Sid      = "CreateEnisInPrivateSubnets"
        Effect   = "Allow"
        Action   = ["ec2:CreateNetworkInterface"]
        Resource = concat(local.subnet_arns, [local.security_group_arn, "arn:${local.p}:ec2:${local.r}:${local.a}:network-interface/*"])
      },
      {
        # The Lambda guide warns that scoping DeleteNetworkInterface to specific ids can cut the function off its VPC:
        # the interface ids are Lambda's, unknown in advance. Scoped to this account and region.
        Sid      = "ManageOwnEnis"
        Effect   = "Allow"
        Action   = ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
        Resource = ["arn:${local.p}:ec2:${local.r}:${local.a}:network-interface/*"]
      },
      {
        # Describe calls have no resource-level permissions: Resource must be "*".
        Sid      = "DescribeNetwork"
        Effect   = "Allow"
        Action   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
        Resource = ["*"]
      },
    ]
  }
}
