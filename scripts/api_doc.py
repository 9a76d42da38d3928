#!/usr/bin/env python3
"""The API reference, made from the public headers, and the check that keeps it true.

    api_doc.py HEADER_DIR OUT.md           writes the reference
    api_doc.py --check HEADER_DIR OUT.md   fails (exit 1) when OUT.md is stale, or when a
                                           public function has no comment of its own group,
                                           or a fallible one does not name its errors

A declaration is documented by the comment right above it, or above the run of
declarations (no blank line between) that it belongs to. A function that takes a
tfm_status or returns a tfm_code must name its status codes (or say "Errors:" / "never
fails") in that comment, so that users know what can come back.
"""
import re
import sys
from pathlib import Path

CODES = ("OK", "INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS", "OUT_OF_RANGE",
         "FAILED_PRECONDITION", "UNIMPLEMENTED", "DATA_LOSS", "RESOURCE_EXHAUSTED", "INTERNAL",
         "Errors", "errors", "never fails", "cannot fail")
HEADER_ORDER = ["tfmini.h", "defs.h", "status.h", "tensor.h", "graph.h", "ops.h", "session.h",
                "train.h", "io.h", "summary.h", "debug.h", "version.h.in"]


def parse(text):
    """The header as (kind, payload) items: ('comment', str), ('decl', str) for a whole
    TFM_API declaration, ('blank', None), ('code', str) for any other line."""
    items = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            items.append(("comment", text[i:j]))
            rest = text.find("\n", j)
            i = n if rest < 0 else (rest + 1 if not text[j:rest].strip() else j)
        elif text.startswith("TFM_API", i):
            j = text.find(";", i)
            j = n if j < 0 else j + 1
            items.append(("decl", " ".join(text[i:j].split())))
            rest = text.find("\n", j)
            i = n if rest < 0 else (rest + 1 if not text[j:rest].strip() else j)
        else:
            j = text.find("\n", i)
            j = n if j < 0 else j + 1
            line = text[i:j]
            if not line.strip():
                items.append(("blank", None))
            elif line.lstrip().startswith("//"):
                items.append(("comment", line.strip()))
            else:
                items.append(("code", line.rstrip()))
            i = j
    return items


def clean_comment(c):
    c = c.strip()
    if c.startswith("//"):
        return c[2:].strip()
    c = c[2:-2] if c.endswith("*/") else c[2:]
    lines = [re.sub(r"^\s*\* ?", "", l) for l in c.splitlines()]
    return "\n".join(l.rstrip() for l in lines).strip()


def func_name(decl):
    m = re.search(r"(tfm_\w+)\s*\(", decl)
    return m.group(1) if m else None


def groups(items):
    """Declarations grouped with the comment above their run."""
    out, comment, run, header_doc = [], None, [], None
    first_comment_seen = False
    for kind, payload in items:
        if kind == "comment":
            if not first_comment_seen:
                header_doc, first_comment_seen = clean_comment(payload), True
                continue
            if run:
                out.append((comment, run))
                run = []
            comment = clean_comment(payload)
        elif kind == "decl":
            run.append(payload)
        elif kind == "blank":
            if run:
                out.append((comment, run))
                run = []
            comment = None
        else:  # code: a typedef or enum ends a comment's reach; #lines and TFM_ macros do not
            if run:
                out.append((comment, run))
                run = []
            if not payload.lstrip().startswith(("TFM_", "#")) or "typedef" in payload:
                comment = None
    if run:
        out.append((comment, run))
    return header_doc, out


def fallible(decl, fn):
    """Takes a status to report into, or returns a code (the status object's own
    accessors excepted)."""
    if fn.startswith("tfm_status_"):
        return False
    return bool(re.search(r",\s*tfm_status \*status\)", decl) or re.match(r"TFM_API tfm_code ", decl))


def render(header_dir):
    files = sorted(Path(header_dir).glob("*.h*"),
                   key=lambda p: (HEADER_ORDER.index(p.name) if p.name in HEADER_ORDER else 99, p.name))
    md = ["# libtfmini API reference", "",
          "Made from the headers in `include/tfmini/` by `scripts/api_doc.py` (a test fails when",
          "this file and the headers disagree). Ownership, errors and thread safety are stated",
          "per function; status codes are `TFM_<NAME>` (see status.h).", ""]
    problems = []
    for f in files:
        header_doc, gs = groups(parse(f.read_text()))
        # A header may state the errors of all its functions once ("Errors (every ...").
        file_wide_errors = bool(header_doc and "Errors (every" in header_doc)
        if not gs:
            continue
        name = f.name.replace(".h.in", ".h")
        md += [f"## `tfmini/{name}`", ""]
        if header_doc:
            md += [header_doc, ""]
        for comment, decls in gs:
            for d in decls:
                md += ["```c", d.replace("TFM_API ", ""), "```"]
            md += ["", comment if comment else "", ""]
            for d in decls:
                fn = func_name(d) or d
                if not comment:
                    problems.append(f"{name}: {fn} has no doc comment")
                elif fallible(d, fn) and not file_wide_errors and not any(c in comment for c in CODES):
                    problems.append(f"{name}: {fn}'s comment names no status code (add 'Errors: ...')")
    return "\n".join(md).rstrip() + "\n", problems


def main(argv):
    check = argv[1:2] == ["--check"]
    args = argv[2:] if check else argv[1:]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    text, problems = render(args[0])
    out = Path(args[1])
    if check:
        for p in problems:
            print("api_doc:", p)
        stale = not out.exists() or out.read_text() != text
        if stale:
            print(f"api_doc: {out} is out of date: run scripts/api_doc.py {args[0]} {out}")
        return 1 if problems or stale else 0
    out.write_text(text)
    for p in problems:
        print("api_doc: warning:", p, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
