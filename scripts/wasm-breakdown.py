#!/usr/bin/env python3
"""Where the Worker's Wasm bytes go, by crate: the code and data of a module that still has
its name section (a twiggy-style "top" grouped by crate, without installing twiggy).

    python3 scripts/wasm-breakdown.py <module.wasm> [--top N]

scripts/wasm-size.sh --breakdown builds such a module (the release module run through
wasm-opt -Oz with names kept) and calls this. Each function's body size is charged to the
crate that its (demangled) name starts with; a generic instantiated for another crate's
type (`<serde_json::Value as serde::Serialize>`) is charged to the crate of the type.
Sizes are raw bytes, before gzip; the data segments (string constants, tables) are one row.
"""
import re
import sys
from collections import defaultdict


def leb(buf, pos):
    """Reads an unsigned LEB128 at pos; returns (value, next position)."""
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def sections(buf):
    """Yields (id, start, end) of each section of a Wasm module."""
    if buf[:4] != b"\0asm":
        sys.exit("not a Wasm module")
    pos = 8
    while pos < len(buf):
        sid = buf[pos]
        size, pos = leb(buf, pos + 1)
        yield sid, pos, pos + size
        pos += size


def imported_functions(buf, start):
    """How many function imports the import section declares (they are not in the code section)."""
    count, pos = leb(buf, start)
    functions = 0
    for _ in range(count):
        for _ in range(2):  # module and field names
            n, pos = leb(buf, pos)
            pos += n
        kind = buf[pos]
        pos += 1
        if kind == 0:
            functions += 1
            _, pos = leb(buf, pos)
        elif kind == 1:  # table: reftype, limits
            pos += 1
            flags, pos = leb(buf, pos)
            _, pos = leb(buf, pos)
            if flags & 1:
                _, pos = leb(buf, pos)
        elif kind == 2:  # memory: limits
            flags, pos = leb(buf, pos)
            _, pos = leb(buf, pos)
            if flags & 1:
                _, pos = leb(buf, pos)
        elif kind == 3:  # global: type, mutability
            pos += 2
        elif kind == 4:  # tag: attribute, type index
            pos += 1
            _, pos = leb(buf, pos)
    return functions


def function_names(buf, start, end):
    """The function names of a "name" custom section: {function index: name}."""
    n, pos = leb(buf, start)
    pos += n  # the section's own name
    names = {}
    while pos < end:
        sub = buf[pos]
        size, pos = leb(buf, pos + 1)
        if sub == 1:
            count, p = leb(buf, pos)
            for _ in range(count):
                index, p = leb(buf, p)
                length, p = leb(buf, p)
                names[index] = buf[p:p + length].decode("utf-8", "replace")
                p += length
        pos += size
    return names


def crate_of(name):
    """The crate a demangled Rust symbol belongs to ("std", "serde_json", "edge_realtime", ...)."""
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)
    m = re.match(r"<(?:&(?:mut )?)?(?:dyn )?([A-Za-z_][\w]*)::", name)
    if m:
        return m.group(1)
    m = re.match(r"([A-Za-z_][\w]*)::", name)
    if m:
        return m.group(1)
    return "(wasm-bindgen glue and unnamed)"


def breakdown(path):
    buf = open(path, "rb").read()
    imports, bodies, names, data = 0, [], {}, 0
    for sid, start, end in sections(buf):
        if sid == 2:
            imports = imported_functions(buf, start)
        elif sid == 10:
            count, pos = leb(buf, start)
            for _ in range(count):
                size, body = leb(buf, pos)
                bodies.append(body - pos + size)
                pos = body + size
        elif sid == 11:
            data += end - start
        elif sid == 0:
            n, p = leb(buf, start)
            if buf[p:p + n] == b"name":
                names = function_names(buf, start, end)
    if not names:
        sys.exit(f"{path} has no name section: build it with names (wasm-size.sh --breakdown)")
    by_crate = defaultdict(int)
    for i, size in enumerate(bodies):
        by_crate[crate_of(names.get(imports + i, ""))] += size
    by_crate["(data segments)"] += data
    return len(buf), by_crate


def main():
    args = sys.argv[1:]
    top = 25
    if "--top" in args:
        top = int(args[args.index("--top") + 1])
        del args[args.index("--top"):args.index("--top") + 2]
    total, by_crate = breakdown(args[0])
    counted = sum(by_crate.values())
    print(f"{'bytes':>9} {'share':>6}  crate  (of {total} bytes; code and data {counted})")
    for crate, size in sorted(by_crate.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{size:>9} {100 * size / total:5.1f}%  {crate}")


if __name__ == "__main__":
    main()
