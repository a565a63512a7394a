"""Issue 5's done-when through the gateways: local -> WebHDFS -> local with
`-update -delete -pugpt`, byte-identical, second run copies nothing, through HttpFS and Knox
(basic auth) of the WebHDFS TEST SERVER. 2,000 files each: the Python test server is the
bottleneck; the 20,000-file run goes through the NameNode/DataNode mode
(test_webhdfs_roundtrip_20k.py). See webhdfs_roundtrip_lib.py."""
import os
import pytest

from webhdfs_roundtrip_lib import roundtrip


@pytest.mark.parametrize("mode", ["httpfs", "knox"])
def test_roundtrip_gateway(mode, tmp_path):
    # 2,000 in the suite (the Python test server is the bottleneck);
    # DISTCP_ROUNDTRIP_FILES=20000 runs issue 5's done-when size by hand
    roundtrip(mode, int(os.environ.get("DISTCP_ROUNDTRIP_FILES", "2000")), tmp_path)


def test_roundtrip_namenode_small(tmp_path):
    roundtrip("webhdfs", 300, tmp_path)
