"""How a stage is built: the five `cargo xtask` steps, what each one creates, and how the parts hand values over.

Rendered by `cargo xtask diagrams` into docs/images/deployment.png (the folder is the first argument). The numbers are
the deployment order of `cargo xtask --help`; the SSM parameters are the contract in docs/architecture.md.
"""

import sys
from pathlib import Path

from diagrams import Cluster, Diagram, Edge
from diagrams.aws.compute import Lambda
from diagrams.aws.database import RDSPostgresqlInstance
from diagrams.aws.management import CloudformationStack, SystemsManagerParameterStore
from diagrams.aws.network import APIGateway, VPC
from diagrams.aws.security import IdentityAndAccessManagementIamRole, KeyManagementService
from diagrams.aws.storage import SimpleStorageServiceS3Bucket
from diagrams.onprem.ci import Gitlabci
from diagrams.onprem.iac import Terraform
from diagrams.programming.language import Rust

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")

GRAPH = {"fontsize": "20", "pad": "0.4", "nodesep": "0.5", "ranksep": "1.0", "splines": "spline"}
TIER = {"fontsize": "14", "style": "rounded", "margin": "16"}


def step(number: int, text: str) -> Edge:
    return Edge(label=f"{number}. {text}", color="firebrick", fontcolor="firebrick")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with Diagram(
        "PMP API: deployment flow (cargo xtask, laptop or GitLab job)",
        filename=str(OUT / "deployment"),
        direction="LR",
        show=False,
        graph_attr=GRAPH,
    ):
        gitlab = Gitlabci("GitLab pipeline\n(OIDC role or keys)")
        xtask = Rust("cargo xtask\n--stage S")

        with Cluster("once per account and region (CloudFormation)", graph_attr=TIER):
            bootstrap_key = KeyManagementService("KMS key\n(stack pmp-bootstrap-kms-key)")
            state = SimpleStorageServiceS3Bucket(
                "state bucket\n(stack pmp-bootstrap-terraform-state)\npmp/S/terraform.tfstate + .tflock"
            )

        with Cluster("per stage: Terraform", graph_attr=TIER):
            terraform = Terraform("terraform/\nstages/S.tfvars")
            network = VPC("VPC, NAT,\nS3 endpoint")
            database = RDSPostgresqlInstance("RDS PostgreSQL\n+ RDS Proxy")
            roles = IdentityAndAccessManagementIamRole("Lambda role,\nCloudFormation role,\ndeployer")
            ssm = SystemsManagerParameterStore("SSM /pmp/S/*\nsubnets, SG, proxy,\nroles, buckets, domain")
            deployment_bucket = SimpleStorageServiceS3Bucket("deployment bucket\nserverless/pmp-api/S/")

        with Cluster("per stage: Serverless (osls)", graph_attr=TIER):
            stack = CloudformationStack("stack pmp-api-S\n(as the deployment role)")
            api = APIGateway("HTTP API +\ncustom domain")
            function = Lambda("pmp-api-S-api")

        gitlab >> Edge(label="every job") >> xtask
        xtask >> step(1, "bootstrap") >> bootstrap_key >> state
        xtask >> step(2, "plan / 3. apply") >> terraform
        state - Edge(style="dotted", label="state") - terraform
        terraform >> network
        terraform >> database
        terraform >> roles
        terraform >> ssm
        terraform >> deployment_bucket
        xtask >> step(4, "deploy") >> deployment_bucket >> stack
        ssm >> Edge(style="dashed", label="read at deploy") >> stack
        stack >> api
        stack >> function
        xtask >> step(5, "migrate (lambda invoke)") >> function
        function >> Edge(style="dashed", label="embedded migrations") >> database


if __name__ == "__main__":
    main()
