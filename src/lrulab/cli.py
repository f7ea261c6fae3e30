"""The command line: parse, call the model / checker / simulator / conformance, format.

Exit codes: 0 ok, 1 a property failed (or a violation), 2 bad input, 3 incomplete."""

from __future__ import annotations

import json
import sys

import click

from .kernel import history
from .kernel.config import BOOT_OPTIONS, FLAGS, PRESETS, ConfigError, kernel_flags


def one_line(msg: str) -> str:
    """``msg`` with control characters escaped: a value the user typed ('--bad $'7.2\\n'')
    must not split the one-line message."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in msg)


class BadInput(click.ClickException):
    exit_code = 2

    def show(self, file=None):
        click.echo(f"lrulab: {one_line(self.format_message())}", err=True)


def parse_patches(values) -> dict:
    out = {}
    for v in values:
        name, sep, val = v.partition("=")
        if not sep or val.lower() not in ("true", "false", "1", "0", "on", "off", "y", "n"):
            raise BadInput(f"--patch {v}: write FLAG=true or FLAG=false")
        if name not in FLAGS:
            raise BadInput(f"--patch {v}: unknown flag {name!r}; 'lrulab variants' lists them")
        out[name] = val.lower() in ("true", "1", "on", "y")
    return out


def overrides(variant, patch, boot) -> dict:
    ov = {}
    if variant is not None:  # '--kernel ""' is an unknown kernel, not the file's
        kernel_option("--kernel/--preset/--variant", variant)
        ov["variant"] = variant
    if patch:
        ov["patches"] = parse_patches(patch)
    if boot:
        for b in boot:
            if b not in BOOT_OPTIONS:
                raise BadInput(f"--boot {b}: unknown; known: {', '.join(BOOT_OPTIONS)}")
        ov["boot"] = list(boot)
    return ov


def kernel_option(opt: str, name: str) -> str:
    """A kernel named on the command line (a preset or any point of history), or bad input."""
    try:
        kernel_flags(name)
    except ConfigError as e:
        raise BadInput(f"{opt} {name}: {e}") from None
    return name


def kernel_list(opt: str, values) -> list[str]:
    """Kernels from a repeatable, comma-separated option (--kernel A,B --kernel C)."""
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    if values and not names:
        raise BadInput(f"{opt} {','.join(values)!r}: name one or more kernels; "
                       "'lrulab variants' lists them")
    return [kernel_option(opt, n) for n in names]


def seconds_option(opt: str, value: float | None) -> float | None:
    """A per-check time limit from the command line: a positive, finite number, or bad input."""
    if value is not None and not (0 < value < float("inf")):
        raise BadInput(f"{opt} {value}: give a positive number of seconds")
    return value


def _props(opt: str, value: str | None) -> list | None:
    from .scenario import PROPERTIES
    if value is None:
        return None
    names = [p.strip() for p in value.split(",") if p.strip()]
    if not names:  # an empty selection would check nothing and call that ok
        raise BadInput(f"{opt} {value!r}: name one or more properties; known: "
                       f"{', '.join(PROPERTIES)}")
    for p in names:
        if p not in PROPERTIES:
            raise BadInput(f"{opt} {p}: unknown property; known: {', '.join(PROPERTIES)}")
    return names


def selection(check: str | None, ignore: str | None, strict: bool = False,
              check_opt: str = "--check") -> dict:
    """Overrides for the properties to check: --check P,... replaces the file's 'check:',
    --ignore P,... drops some, --strict counts behaviours accepted by design as violations."""
    ov: dict = {}
    if check is not None:
        ov["check"] = _props(check_opt, check)
    if ignore is not None:
        ov["ignore"] = _props("--ignore", ignore)
    if strict:
        ov["strict"] = True
    return ov


def configured(ov: dict) -> bool:
    """Whether the command line changed the kernel the file asks for (then its 'expect:',
    which is about that kernel, is not applied)."""
    return any(k in ov for k in ("variant", "patches", "boot"))


def load(path, ov):
    from .scenario import ScenarioError, load_scenario
    try:
        return load_scenario(path, ov)
    except ScenarioError as e:
        raise BadInput(str(e)) from None


variant_opt = click.option("--kernel", "--variant", "--preset", "variant", metavar="NAME",
                           help="kernel to use instead of the file's: a preset or point of "
                                "history ('lrulab variants'); --variant, --preset: the same")
patch_opt = click.option("--patch", multiple=True, metavar="FLAG=BOOL", help="flip a patch flag")
boot_opt = click.option("--boot", multiple=True, metavar="OPT", help="add a boot option")
json_opt = click.option("--json", "as_json", is_flag=True, help="one JSON object on stdout")


def select_opts(f):
    """--check, --ignore and --strict (property selection), for run, check and bugs."""
    f = click.option("--strict", is_flag=True,
                     help="behaviours a property accepts by design are violations")(f)
    f = click.option("--ignore", "ignore_props", metavar="P,...",
                     help="do not check these properties")(f)
    f = click.option("--check", "check_props", metavar="P,...",
                     help="check these properties instead of the file's 'check:'")(f)
    return f


class _Group(click.Group):
    """Usage errors (an unknown option, a value of the wrong type) are bad input too: one line
    on stderr naming the fix, exit status 2."""

    def main(self, *args, **kwargs):
        # the rooms' commands again: a room imported before this module (lrulab.bisect
        # imports lrulab.cli) was only half initialised when the import-time pass ran
        _register()
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as e:
            if e.__class__.__name__ == "NoArgsIsHelpError" and e.ctx is not None:
                click.echo(e.ctx.get_help())  # bare 'lrulab': the help, as click does
                sys.exit(2)
            cmd = e.ctx.command_path if e.ctx is not None else "lrulab"
            click.echo(f"lrulab: {one_line(e.format_message().rstrip('.'))}; see '{cmd} --help'",
                       err=True)
            sys.exit(2)
        except click.ClickException as e:
            e.show()
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("lrulab: aborted", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lrulab")
def main():
    """lrulab: list_lru, memcg-aware shrinkers and the THP deferred-split queue, executable."""


def _id(c: history.Commit) -> str:
    return c.commit or (f"<{c.msgid}>" if c.msgid else "(id not seen)")


def _line_of_history() -> list[str]:
    """Every point, in history's order: the newest tree's line, then the distribution builds."""
    line = history.lineage(history.newest())
    return line + [p for p in history.points() if p not in line]


def _point_json(p: str) -> dict:
    return {"date": history.date(p), "base": history.base(p), "in_model": history.in_model(p),
            "aliases": [a for a, q in history.ALIASES.items() if q == p],
            "describes": history.describe(p), "flags": history.flags_at(p),
            "commits": [_id(c) for c in history.commits_at(p)]}


def _diff(a: str, b: str, as_json: bool) -> None:
    try:
        pa, pb = history.resolve(a), history.resolve(b)
    except KeyError as e:
        raise BadInput(f"--diff {a} {b}: {e.args[0]}") from None
    steps = history.steps(pa, pb)
    if as_json:
        click.echo(json.dumps({"from": pa, "to": pb, "path": history.path(pa, pb),
                               "commits": [{**history.record_json(c), "applied": on}
                                           for c, on in steps]}, indent=1))
        return
    click.echo(f"{a} ({pa}) -> {b} ({pb}) along {' -> '.join(history.path(pa, pb))}:")
    for c, on in steps:
        flag = f"{c.flag}={'on' if c.value else 'off'}" + ("" if c.modelled else " (not modelled)")
        click.echo(f"  {'+' if on else '-'} {_id(c)} {c.subject} ({c.seen}, {c.author})"
                   f"  {flag}")
    if not steps:
        click.echo("  (no commit in scope)")


@main.command()
@json_opt
@click.option("--diff", nargs=2, metavar="A B", help="the commits between two kernels")
def variants(as_json, diff):
    """List the kernels (points of history, with the presets' names for them), the patch
    flags with the commits they are, and the boot options."""
    if diff:
        _diff(*diff, as_json)
        return
    if as_json:
        click.echo(json.dumps({
            "points": {p: _point_json(p) for p in _line_of_history()},
            "presets": {n: {"point": history.ALIASES[n], "description": d, "flags": f}
                        for n, (d, f) in PRESETS.items()},
            "flags": {n: {"description": d, "where": w,
                          "records": [history.record_json(c) for c in history.records(n)]}
                      for n, (d, w) in FLAGS.items()},
            "unmodelled": [history.record_json(c) for c in history.COMMITS if not c.modelled],
            "boot": BOOT_OPTIONS}, indent=1))
        return
    click.echo("Kernels (points of history, oldest first; [the presets' names for them]):")
    for p in _line_of_history():
        names = [a for a, q in history.ALIASES.items() if q == p and a != p]
        tag = f" [{', '.join(names)}]" if names else ""
        scope = "" if history.in_model(p) else " (before the model's scope)"
        click.echo(f"  {p:<16} {history.date(p) or '':<10}  {history.describe(p)}{tag}{scope}")
    click.echo(f"\nPatch flags (values in the presets {' '.join(PRESETS)}), each a commit:")
    for name in FLAGS:
        marks = "".join("x" if PRESETS[p][1][name] else "." for p in PRESETS)
        recs = "; ".join(f"{'' if c.value else 'off: '}{_id(c)} \"{c.subject}\" "
                         f"({c.seen})" for c in history.records(name))
        click.echo(f"  {name:<36} {marks}  {recs}")
    click.echo("\nBoot options:")
    for name, desc in BOOT_OPTIONS.items():
        click.echo(f"  {name:<22} {desc}")
    click.echo("\n'lrulab variants --diff A B' lists the commits between two kernels; --json "
               "every field of every record.")


@main.command()
@click.argument("file")
@variant_opt
@patch_opt
@boot_opt
@json_opt
@select_opts
def run(file, variant, patch, boot, as_json, check_props, ignore_props, strict):
    """Run FILE sequentially: setup, then each thread's ops in order, then 'after:'; each
    assert prints pass or fail at its line."""
    from .check.outcome import expectation
    from .report import print_run, run_json
    from .runner import run_scenario
    ov = overrides(variant, patch, boot)
    sc = load(file, {**ov, **selection(check_props, ignore_props, strict)})
    result = run_scenario(sc)
    violated = {p for p, m in result.properties.items() if m}
    exp = None if configured(ov) else expectation(
        sc.expect, "violation" if violated else "ok", violated)
    if as_json:
        out = run_json(result)
        if exp is not None:
            out["expect"] = {"violation": sc.expect["violation"], "outcome": exp[0]}
        click.echo(json.dumps(out, indent=1))
    else:
        print_run(result)
        if exp is not None:
            click.echo(f"expect: {exp[0]}")
    sys.exit(exp[1] if exp is not None else (0 if result.ok else 1))


# Other rooms register their commands here.
def _register():
    for modname, names in (("lrulab.check.commands", ("check", "replay")),
                           ("lrulab.check.bugs", ("bugs",)),
                           ("lrulab.sim.commands", ("simulate",)),
                           ("lrulab.sweep.commands", ("sweep_cmd",)),
                           ("lrulab.conform.command", ("conform",)),
                           ("lrulab.bisect", ("bisect",)),
                           ("lrulab.kstate.command", ("inspect_cmd",))):
        try:
            mod = __import__(modname, fromlist=list(names))
        except ImportError as e:
            if getattr(e, "name", None) != modname:
                raise
            continue
        for n in names:
            if hasattr(mod, n):
                main.add_command(getattr(mod, n))


_register()
