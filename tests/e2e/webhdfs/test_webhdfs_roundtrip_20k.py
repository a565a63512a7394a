"""Issue 5's done-when at full size: a 20,000-file tree local -> WebHDFS (NameNode + DataNode
on two ports, 307 redirects) -> local with `-update -delete -pugpt`, byte-identical with modes
and mtimes, a second run copies nothing, a change travels both ways. Against the WebHDFS TEST
SERVER (tests/webhdfs/webhdfs_server.py); takes a few minutes, the server being the bottleneck.
See webhdfs_roundtrip_lib.py. In the sanitizer pass of scripts/test.sh (DISTCP_SANITIZED=1) the
same path runs with 2,000 files: the release pass carries the 20,000."""
import os

from webhdfs_roundtrip_lib import roundtrip


def test_roundtrip_20000_namenode_datanode(tmp_path):
    roundtrip("webhdfs", 2000 if os.environ.get("DISTCP_SANITIZED") else 20000, tmp_path)
