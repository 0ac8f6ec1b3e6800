# Security groups carry the fine-grained rules (Lambda -> proxy -> database). NACLs add a coarse second line where it
# is cheap to be sure: the database subnets exchange traffic with the VPC only.
resource "aws_network_acl" "database" {
  vpc_id     = aws_vpc.this.id
  subnet_ids = aws_subnet.database[*].id

  tags = { Name = "${var.name}-database" }
}

resource "aws_network_acl_rule" "database_in_from_vpc" {
  # checkov:skip=CKV_AWS_352:Peers are limited to the VPC; ports are the security groups' job (5432 from the proxy only), and RDS's own traffic between its primary and standby is not documented port by port.
  network_acl_id = aws_network_acl.database.id
  egress         = false
  rule_number    = 100
  rule_action    = "allow"
  protocol       = "-1"
  cidr_block     = var.vpc_cidr
}

resource "aws_network_acl_rule" "database_out_to_vpc" {
  network_acl_id = aws_network_acl.database.id
  egress         = true
  rule_number    = 100
  rule_action    = "allow"
  protocol       = "-1"
  cidr_block     = var.vpc_cidr
}

# The public and private subnets keep the default NACL, now under Terraform: a hand-made change to it shows as drift
# and is reverted. It stays open (NACLs are stateless: the NAT's return traffic and the function's replies use
# ephemeral ports) and the security groups do the filtering.
resource "aws_default_network_acl" "this" {
  default_network_acl_id = aws_vpc.this.default_network_acl_id
  subnet_ids             = concat(aws_subnet.public[*].id, aws_subnet.private[*].id)

  ingress {
    rule_no    = 100
    action     = "allow"
    protocol   = "-1"
    cidr_block = "0.0.0.0/0"
    from_port  = 0
    to_port    = 0
  }

  egress {
    rule_no    = 100
    action     = "allow"
    protocol   = "-1"
    cidr_block = "0.0.0.0/0"
    from_port  = 0
    to_port    = 0
  }

  tags = { Name = "${var.name}-default" }
}
