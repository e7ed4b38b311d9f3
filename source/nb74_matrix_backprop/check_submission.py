"""提出前チェック: ノートブックを実行し、採点される各部分の可視テストの結果と、採点できなくなる変更を報告します。

    python check_submission.py                      # このフォルダの課題ノートブックを調べる
    python check_submission.py --summary FILE       # 結果を Markdown の表で FILE に追記（GitHub Actions の要約）

終了コード: 0 = 全部合格で問題なし、1 = 不合格の可視テスト・採点できなくなる問題・実行できなかった、2 = 引数の誤り。
このスクリプトはノートブックと同じフォルダの check_submission_data.json だけを読みます。採点用のテスト
（隠しテスト）は含みません。可視テストに合格しても、採点では別の入力で調べます。
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "check_submission_data.json"
MAX_BYTES = 50 << 20  # 採点側が受け取る大きさの目安（出力を消せば数百 KB です）
MESSAGE_CHARS = 300


def cell_text(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def grade_id_of(cell: dict[str, Any]) -> str | None:
    meta = cell.get("metadata", {})
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nbg.get("grade_id") if isinstance(nbg, dict) else None


def find_notebook(expected: str, given: str | None) -> tuple[Path | None, list[str]]:
    """(調べるノートブック, 問題)。名前が変わっていれば問題にしたうえで、ほかに 1 つだけあるものを調べる。"""
    if given:
        path = Path(given)
        problems = [] if path.name == expected else [f"ファイル名が {path.name} です。{expected} に戻してください"]
        return path, problems
    path = HERE / expected
    if path.exists() or path.is_symlink():
        return path, []
    others = sorted(p.name for p in HERE.glob("*.ipynb"))
    if len(others) == 1:
        return HERE / others[0], [f"ファイル名が {others[0]} に変わっています。{expected} に戻してください"]
    found = "、".join(others) if others else "なし"
    return None, [f"{expected} が見つかりません（このフォルダのノートブック: {found}）"]


def read_notebook(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    if path.is_symlink():
        return None, [f"{path.name} はシンボリックリンクです。採点では読みません。ファイルそのものを置いてください"]
    size = path.stat().st_size
    if size > MAX_BYTES:
        return None, [
            f"{path.name} が大きすぎます（{size / 2**20:.1f} MB、上限 {MAX_BYTES >> 20} MB）。出力を消して保存してください"
        ]
    try:
        nb = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        return None, [f"{path.name} が UTF-8 ではありません（{e.start} バイト目）"]
    except json.JSONDecodeError as e:
        return None, [f"{path.name} が JSON として読めません: {e.lineno} 行 {e.colno} 列（{e.msg}）"]
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None, [f"{path.name} はノートブックの形をしていません（cells がありません）"]
    return nb, []


def structure(nb: dict[str, Any], data: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(採点できなくなる問題, 注意) を配布時のセルと比べて返す。"""
    problems: list[str] = []
    notes: list[str] = []
    by_id: dict[str, list[dict[str, Any]]] = {}
    for cell in nb["cells"]:
        if isinstance(cell, dict) and (gid := grade_id_of(cell)):
            by_id.setdefault(gid, []).append(cell)
    for want in data["cells"]:
        gid = want["grade_id"]
        have = by_id.get(gid, [])
        if not have:
            problems.append(
                f"セル {gid} がありません（消したか、メタデータを変えました）。配布されたノートブックから戻してください"
            )
            continue
        if len(have) > 1:
            problems.append(f"セル {gid} が {len(have)} 個あります（コピーしたセルは消してください）")
        cell = have[0]
        if cell.get("id") != want["id"]:
            problems.append(f"セル {gid} の id が {cell.get('id')!r} です（配布時は {want['id']!r}）")
        if cell.get("cell_type") != want["cell_type"]:
            problems.append(f"セル {gid} の種類が {cell.get('cell_type')} です（配布時は {want['cell_type']}）")
        meta = cell["metadata"]["nbgrader"]
        changed = sorted(k for k, v in want["nbgrader"].items() if meta.get(k) != v)
        if changed:
            problems.append(f"セル {gid} の nbgrader メタデータ（{', '.join(changed)}）が変わっています")
        sha = want.get("source_sha256")
        if sha and hashlib.sha256(cell_text(cell).encode("utf-8")).hexdigest() != sha:
            what = "テストセル" if want["nbgrader"].get("grade") else "編集不可のセル"
            notes.append(f"{what} {gid} の中身が変わっています。採点では配布時の中身に戻されます")
    return problems, notes


ANSI = re.compile(r"\x1b\[[0-9;]*m")
SHORT_TRACEBACK = 8  # 可視テストの失敗は 8 行以内のメッセージだけを表示する（Python の traceback ではない）


def error_message(output: dict[str, Any]) -> str:
    """エラーの出力を 1 行に。可視テストの短いメッセージはそのまま（先頭の ✗ 行と、ノートブックの
    図を指す行は除く: ここには図がありません）、それ以外は「例外名: 内容」。"""
    lines = [ANSI.sub("", str(line)) for line in output.get("traceback") or []]
    if lines and len(lines) <= SHORT_TRACEBACK and not any(ln.startswith("Traceback") for ln in lines):
        kept = [ln for ln in lines if ln.strip() and not ln.startswith("✗") and not ln.startswith("上の図")]
        if kept:
            return " ".join(kept)
    value = str(output.get("evalue", "")).strip()
    return f"{output.get('ename', 'Error')}: {value}" if value else str(output.get("ename", "Error"))


CAUSE = re.compile(r"原因は (\S+?) です")


def causes(rows: list[dict[str, Any]]) -> list[str]:
    """不合格の部分のうち、ほかの部分が原因だとメッセージが言っているものの、その原因（出てきた順）。"""
    found: list[str] = []
    for r in rows:
        m = CAUSE.search(str(r["message"])) if not r["passed"] else None
        if m and m.group(1) not in found:
            found.append(m.group(1))
    return found


def tally(rows: list[dict[str, Any]]) -> str:
    passed = sum(r["passed"] for r in rows)
    text = f"可視テスト: {len(rows)} 部分中 {passed} 部分が合格"
    blocked = sum(1 for r in rows if not r["passed"] and CAUSE.search(str(r["message"])))
    if blocked:
        text += f"（不合格のうち {blocked} 部分は {'・'.join(causes(rows))} が原因です。先にそちらを直してください）"
    return text


def run(nb: dict[str, Any], path: Path, timeout: int) -> tuple[dict[str, Any] | None, str]:
    """実カーネルで全セルを実行（エラーのあるセルでも止めない）。(実行後のノートブック, 失敗の理由)。"""
    import nbformat
    from nbclient import NotebookClient

    try:
        node = nbformat.reads(json.dumps(nb), as_version=4)  # sources as strings, as nbclient expects
        for cell in node.cells:  # 前回の出力ではなく今回の結果で判定する
            if cell.get("cell_type") == "code":
                cell["outputs"], cell["execution_count"] = [], None
        client = NotebookClient(
            node,
            timeout=timeout,
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
    except Exception as e:  # カーネルが起動しない、時間切れ、など
        return None, f"ノートブックを実行できませんでした: {type(e).__name__}: {str(e).strip()[:MESSAGE_CHARS]}"
    return node, ""


def verdicts(executed: dict[str, Any], data: dict[str, Any]) -> list[dict[str, Any]]:
    cells = {grade_id_of(c): c for c in executed["cells"]}
    rows = []
    for part in data["parts"]:
        cell = cells.get(part["test_cell"])
        row = {"title": part["title"], "points": part["points"], "passed": False, "message": "テストセルがありません"}
        if cell is not None:
            outputs = cell.get("outputs", [])
            errors = [o for o in outputs if o.get("output_type") == "error"]
            text = "".join(
                cell_text({"source": o.get("text", "")}) for o in outputs if o.get("output_type") == "stream"
            )
            if errors:
                row["message"] = error_message(errors[0])
            elif cell.get("execution_count") is None:
                row["message"] = "実行されませんでした"
            else:
                row["passed"] = True
                row["message"] = text.strip().splitlines()[-1] if text.strip() else "合格"
        row["message"] = " ".join(str(row["message"]).split())[:MESSAGE_CHARS]
        rows.append(row)
    return rows


def md(text: str) -> str:
    """Markdown の表のセルとして安全な文字列（HTML も表の区切りも効かない）。"""
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("`", "\\`"), ("*", "\\*"), ("_", "\\_")):
        text = text.replace(a, b)
    return " ".join(text.split())


def report(
    name: str, rows: list[dict[str, Any]], problems: list[str], notes: list[str], seconds: float
) -> tuple[str, str]:
    passed = sum(r["passed"] for r in rows)
    lines = [f"提出前チェック: {name}（実行 {seconds:.1f} 秒）", ""]
    for r in rows:
        mark = "合格  " if r["passed"] else "不合格"
        lines.append(f"  [{mark}] {r['title']}（{r['points']:g} 点）: {r['message']}")
    if rows:
        lines += ["", tally(rows)]
    if problems:
        lines += ["", "採点できなくなる問題（直してから提出してください）:"] + [f"  - {p}" for p in problems]
    if notes:
        lines += ["", "注意:"] + [f"  - {n}" for n in notes]
    ok = not problems and passed == len(rows)
    lines += [
        "",
        "問題は見つかりませんでした。" if ok else "直すところがあります。",
        "可視テストに合格しても、採点では別の入力で調べます。",
    ]

    out = [f"### 提出前チェック: {md(name)}", ""]
    if rows:
        out += ["| 部分 | 配点 | 可視テスト | メッセージ |", "|---|---|---|---|"]
        out += [
            f"| {md(r['title'])} | {r['points']:g} | {'✅ 合格' if r['passed'] else '❌ 不合格'} | {md(r['message'])} |"
            for r in rows
        ]
        out += ["", f"{tally(rows)}（実行 {seconds:.1f} 秒）"]
    if problems:
        out += ["", "**採点できなくなる問題**", ""] + [f"- {md(p)}" for p in problems]
    if notes:
        out += ["", "**注意**", ""] + [f"- {md(n)}" for n in notes]
    return "\n".join(lines) + "\n", "\n".join(out) + "\n\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="提出前チェック（可視テストと、採点できなくなる変更）")
    parser.add_argument("--notebook", help="調べるノートブック（省略時: このフォルダの課題ノートブック）")
    parser.add_argument("--summary", help="結果の Markdown をこのファイルに追記する")
    parser.add_argument("--timeout", type=int, default=120, help="1 セルあたりの実行時間の上限（秒）")
    args = parser.parse_args(argv)
    data = json.loads(DATA.read_text(encoding="utf-8"))
    path, problems = find_notebook(data["notebook"], args.notebook)
    notes: list[str] = []
    rows: list[dict[str, Any]] = []
    seconds = 0.0
    nb = None
    if path is not None:
        nb, more = read_notebook(path)
        problems += more
    if nb is not None and path is not None:
        more, notes = structure(nb, data)
        problems += more
        start = time.perf_counter()
        executed, failure = run(nb, path, args.timeout)
        seconds = time.perf_counter() - start
        if executed is None:
            problems.append(failure)
        else:
            rows = verdicts(executed, data)
    text, markdown = report(path.name if path else data["notebook"], rows, problems, notes, seconds)
    sys.stdout.write(text)
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as f:
            f.write(markdown)
    return 0 if not problems and rows and all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
