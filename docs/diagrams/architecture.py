"""The running platform of one stage: a request's path, the network tiers it crosses, and what watches it.

Rendered by `cargo xtask diagrams` into docs/images/architecture.png (the folder is the first argument). Every box is
a resource the repository creates (terraform/, serverless.yml) or calls; the labels use the repository's names.
"""

import sys
from pathlib import Path

from diagrams import Cluster, Diagram, Edge
from diagrams.aws.compute import Lambda
from diagrams.aws.database import RDSPostgresqlInstance
from diagrams.aws.integration import SimpleNotificationServiceSnsTopic
from diagrams.aws.management import CloudwatchAlarm
from diagrams.aws.network import (
    APIGateway,
    Endpoint,
    InternetGateway,
    NATGateway,
    Route53,
)
from diagrams.aws.security import CertificateManager, KeyManagementService, SecretsManager
from diagrams.aws.storage import SimpleStorageServiceS3Bucket
from diagrams.onprem.client import Users
from diagrams.onprem.network import Internet

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")

GRAPH = {"fontsize": "20", "pad": "0.4", "nodesep": "0.6", "ranksep": "0.9", "splines": "spline"}
TIER = {"fontsize": "14", "style": "rounded", "margin": "16"}
SECRET = Edge(color="darkgreen", style="dashed")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with Diagram(
        "PMP API: one stage (request flow and network)",
        filename=str(OUT / "architecture"),
        direction="LR",
        show=False,
        graph_attr=GRAPH,
    ):
        clients = Users("API clients")
        third_party = Internet("third-party\npublic API")

        with Cluster("edge (regional)", graph_attr=TIER):
            dns = Route53("api.<stage>.<zone>\nalias A record")
            certificate = CertificateManager("ACM certificate\nTLS 1.2 policy")
            api = APIGateway("HTTP API pmp-api-<stage>\npayload 2.0, throttled\n(default endpoint off)")

        with Cluster("VPC pmp-api-<stage>, 3 AZs", graph_attr=TIER):
            with Cluster("public subnets", graph_attr=TIER):
                igw = InternetGateway("internet gateway")
                nat = NATGateway("NAT gateway(s) + EIPs\ndev 1, prod 1 per AZ")
            with Cluster("private subnets", graph_attr=TIER):
                function = Lambda("pmp-api-<stage>-api\nRust, arm64\nreserved concurrency")
                proxy = RDSPostgresqlInstance("RDS Proxy\nTLS + IAM auth")
                s3_endpoint = Endpoint("S3 gateway\nendpoint")
            with Cluster("database subnets (no route out)", graph_attr=TIER):
                database = RDSPostgresqlInstance("PostgreSQL 17\nKMS, TLS only\nMulti-AZ in prod")

        with Cluster("regional services", graph_attr=TIER):
            data = SimpleStorageServiceS3Bucket("data bucket\n(SSE-KMS)")
            secret = SecretsManager("RDS-managed\nmaster secret")
            key = KeyManagementService("alias/pmp-<stage>")
            alarms = CloudwatchAlarm("alarms: function, API,\ndatabase, proxy")
            topic = SimpleNotificationServiceSnsTopic("pmp-<stage>-alarms")

        clients >> Edge(label="HTTPS") >> dns >> api
        certificate - Edge(style="dotted") - api
        api >> Edge(label="invoke") >> function
        function >> Edge(label=":5432 TLS\nIAM token") >> proxy >> Edge(label=":5432 TLS") >> database
        proxy >> SECRET >> secret
        function >> Edge(label="GetObject") >> s3_endpoint >> data
        function >> Edge(label="HTTPS") >> nat >> igw >> third_party
        key - Edge(style="dotted", label="encrypts") - database
        secret - Edge(style="invis") - key
        alarms >> topic


if __name__ == "__main__":
    main()
