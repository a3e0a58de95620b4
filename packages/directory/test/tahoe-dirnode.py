"""Tahoe-LAFS's own dirnode code reads a directory lafs-ts packed (run by tahoe-dirnode.test.ts
with the reference Tahoe's Python). stdin: {"cap", "packed_b64"}; stdout: every child as Tahoe
sees it, and Tahoe's pack_children of those children (which must be our bytes again)."""
import base64
import json
import sys

from allmydata import dirnode
from allmydata.nodemaker import NodeMaker

request = json.load(sys.stdin)
nodemaker = NodeMaker(None, None, None, None, None, {"k": 3, "happy": 7, "n": 10}, None, None)
node = nodemaker.create_from_cap(request["cap"].encode("ascii"))
children = node._unpack_contents(base64.b64decode(request["packed_b64"]))
listed = {}
for name, (child, metadata) in children.items():
    rw = child.get_write_uri()
    ro = child.get_readonly_uri()
    listed[name] = {
        "rw_uri": rw.decode("utf-8") if rw else None,
        "ro_uri": ro.decode("utf-8") if ro else None,
        "metadata": metadata,
    }
writekey = None if node.is_readonly() else node._node.get_writekey()
repacked = dirnode.pack_children(children, writekey, deep_immutable=not node.is_mutable())
json.dump({"children": listed, "repacked_b64": base64.b64encode(repacked).decode("ascii")}, sys.stdout)
