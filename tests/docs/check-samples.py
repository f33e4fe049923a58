#!/usr/bin/env python3
"""Check every fenced code block of README.md and docs/*.md.

A sample in the docs that no longer compiles, or a `clv` option that was
renamed, is a bug a reader meets first; this test finds it before they do.
The conventions (also in tests/docs/README.md):

  ```c / ```cpp   A complete program (it defines main) is compiled against the
                  built libclv with -Werror, linked and run; it must exit 0.
                  A fragment must be preceded by `<!-- sample: wrap=NAME -->`:
                  it is pasted into tests/docs/wrappers/NAME.c (or .cpp) at the
                  line holding @SAMPLE@, and the result is compiled and run.
                  ```cpp blocks are skipped when there is no C++ compiler or
                  the header they include is absent.
  ```sh           Every command is checked without running it: `clv CMD
                  --opt ...` must name a command and options that `clv CMD
                  --help` lists; repository scripts (scripts/dev demo) must
                  exist and handle the subcommand; other programs must be known.
                  `<!-- sample: run -->` also runs the block (bash -e, `clv` on
                  PATH) in the document's scratch directory.
  ```console      As sh, for the lines that start with "$ ".
  ```python       In docs/python.md: left to that page's own test. Elsewhere
                  run with python3 (after wrap=NAME, as for C).
  ```go           In docs/go.md: left to that page's own test.
  ```text         Output or plain text; never run. With `<!-- sample: expect
                  -->` before it, it must match the standard output of the
                  document's previous sample that ran (numbers to 0.5% or one
                  unit of their last printed digit, so another CPU's rounding
                  of the last digit still passes).

Any other tag, and a fence without a tag, fails: nothing slips through
unchecked. `<!-- sample: compile-only -->` compiles a C block without running
it (a server loop, a program that needs a large input). The blocks of one
document run in order in one scratch directory, so a sh block may write the
orders.csv or model.clv that a later C program reads.

usage: check-samples.py --root SRC --clv CLV --cc 'CC ARGS' [--cxx 'CXX ARGS']
                        --include DIR... --lib LIBCLV.so [FILE.md ...]
"""

import argparse
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

DELEGATED = {'python': 'docs/python.md', 'go': 'docs/go.md'}
KNOWN_PROGRAMS = {'cc', 'gcc', 'c++', 'g++', 'meson', 'ninja', 'git', 'pkg-config', 'man',
                  'python3', 'sudo', 'apt-get', 'valgrind', 'head', 'tail', 'cat', 'echo',
                  'ls', 'rm', 'mv', 'cp', 'mkdir', 'time', 'env', 'grep', 'sort', 'wc', 'cd',
                  'test', 'printf', 'diff', 'cmp', 'sed', 'awk', 'kill', 'sleep', 'wait',
                  'ps', 'true', 'false', 'export', 'set', 'for', 'do', 'done', 'if', 'then',
                  'fi', 'else', 'while', 'ldd', 'nproc', 'taskset', 'uptime', 'sh', 'bash',
                  '.', 'source',
                  # cluster tools of docs/scale-out.md: not on a development machine
                  'mpirun', 'srun', 'sbatch', 'module'}
RUN_TIMEOUT = 60


class Block:
    def __init__(self, path, line, tag, text, directives):
        self.path, self.line, self.tag, self.text = path, line, tag, text
        self.directives = directives

    def where(self):
        return f'{self.path}:{self.line}'


def parse_blocks(root, rel):
    """Fenced blocks of a Markdown file with the `<!-- sample: ... -->`
    directives written on the lines just before them (blank lines allowed)."""
    lines = open(os.path.join(root, rel), encoding='utf-8').read().split('\n')
    blocks, pending, i = [], {}, 0
    while i < len(lines):
        line = lines[i]
        d = re.match(r'^\s*<!--\s*sample:\s*(.*?)\s*-->\s*$', line)
        if d:
            for word in d.group(1).split():
                key, _, value = word.partition('=')
                pending[key] = value or True
            i += 1
            continue
        m = re.match(r'^(\s*)(`{3,}|~{3,})\s*([^\s`]*)', line)
        if m:
            fence, tag = m.group(2), m.group(3).lower()
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(fence):
                j += 1
            if j == len(lines):
                raise SystemExit(f'{rel}:{i + 1}: unclosed code fence')
            indent = len(m.group(1))
            body = '\n'.join(l[indent:] if l[:indent].isspace() else l for l in lines[i + 1:j])
            blocks.append(Block(rel, i + 1, tag, body + '\n', pending))
            pending, i = {}, j + 1
            continue
        if line.strip():
            pending = {}   # a directive only applies to the block right after it
        i += 1
    return blocks


def numbers_match(expected, actual):
    """Token by token; numbers agree to 0.5% or one unit of the last digit."""
    te, ta = expected.split(), actual.split()
    if len(te) != len(ta):
        return False
    num = re.compile(r'^([^\d+-]*)([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(.*)$')
    for e, a in zip(te, ta):
        if e == a:
            continue
        me, ma = num.match(e), num.match(a)
        if not (me and ma) or me.group(1) != ma.group(1) or me.group(3) != ma.group(3):
            return False
        x, y = float(me.group(2)), float(ma.group(2))
        if abs(x - y) > 5e-3 * max(abs(x), abs(y)) + 1e-12 and \
           abs(x - y) > 1.01 * 10 ** -len((me.group(2) + '.').split('.')[1] or '0'):
            return False
    return True


class Checker:
    def __init__(self, args):
        self.a = args
        self.failures, self.counts = [], {}
        self.help_cache = {}
        self.bindir = tempfile.mkdtemp(prefix='clv-docs-bin-')
        os.symlink(os.path.abspath(args.clv), os.path.join(self.bindir, 'clv'))
        self.env = dict(os.environ, PATH=self.bindir + os.pathsep + os.environ.get('PATH', ''))

    def count(self, what):
        self.counts[what] = self.counts.get(what, 0) + 1

    def fail(self, block, msg):
        self.failures.append(f'{block.where()} [{block.tag}]: {msg}')

    # ---- clv and shell commands -------------------------------------------------
    def clv_help(self, sub):
        if sub not in self.help_cache:
            cmd = [self.a.clv] + ([sub] if sub else []) + ['--help']
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            self.help_cache[sub] = (p.returncode, p.stdout + p.stderr)
        return self.help_cache[sub]

    def check_clv(self, block, words):
        rc, top = self.clv_help(None)
        if rc != 0:
            return self.fail(block, f'`clv --help` exited {rc}')
        if len(words) < 2:
            return self.fail(block, '`clv` without a command')
        sub = words[1]
        if not re.search(r'^\s+' + re.escape(sub) + r'\b', top, re.M):
            return self.fail(block, f'`clv {sub}`: no such command in `clv --help`')
        rc, text = self.clv_help(sub)
        if rc != 0:
            return self.fail(block, f'`clv {sub} --help` exited {rc}')
        for w in words[2:]:
            opt = w.split('=', 1)[0]
            if opt.startswith('--') and opt != '--' and \
               not re.search(re.escape(opt) + r'(?![\w-])', text):
                self.fail(block, f'`clv {sub}`: option {opt} is not in `clv {sub} --help`')
        self.count('clv commands checked')

    def check_script(self, block, words):
        path = os.path.join(self.a.root, words[0])
        if not os.path.isfile(path):
            return self.fail(block, f'{words[0]}: no such file in the repository')
        sub = words[1] if len(words) > 1 and re.match(r'^[a-z][\w-]*$', words[1]) else None
        if sub:
            text = open(path, encoding='utf-8', errors='replace').read()
            if not re.search(r'(^|[\s|(])' + re.escape(sub) + r"\s*[|)]", text, re.M):
                return self.fail(block, f'{words[0]} has no `{sub})` case')
        self.count('script commands checked')

    def check_command_line(self, block, line):
        subst = re.findall(r'\$\(([^()]*)\)', line)
        line = re.sub(r'\$\([^()]*\)', ' SUBST ', line)
        for sub in subst:
            self.check_command_line(block, sub)
        try:
            words = shlex.split(line, comments=True)
        except ValueError as e:
            return self.fail(block, f'cannot parse `{line.strip()}`: {e}')
        words = [w.strip('[]') for w in words]
        cmd = []
        for w in words + [';']:
            if w in ('&&', '||', ';', '|', '&'):
                while cmd and re.match(r'^[A-Za-z_][A-Za-z0-9_]*=', cmd[0]):
                    cmd.pop(0)      # VAR=value prefixes
                if cmd:
                    self.check_command(block, cmd)
                cmd = []
            elif w:
                cmd.append(w)

    def check_command(self, block, words):
        prog = words[0]
        if prog == 'clv' or prog.endswith('/clv'):
            self.check_clv(block, words)
        elif prog.startswith('./') and re.search(r'-o\s+' + re.escape(prog[2:]) + r'\b', block.text):
            self.count('programs built in the block')   # cc ... -o tutorial && ./tutorial
        elif '/' in prog:
            self.check_script(block, words)
        elif prog in KNOWN_PROGRAMS or shutil.which(prog):
            self.count('other commands')
        else:
            self.fail(block, f'unknown program `{prog}`')

    def shell_lines(self, block):
        text = block.text.replace('\\\n', ' ')
        for line in text.split('\n'):
            if block.tag == 'console':
                if not line.startswith('$ '):
                    continue
                line = line[2:]
            if line.strip() and not line.lstrip().startswith('#'):
                yield line

    # ---- compiling and running -----------------------------------------------
    def source_of(self, block, ext):
        wrap = block.directives.get('wrap')
        if not wrap:
            return block.text
        path = os.path.join(self.a.root, 'tests', 'docs', 'wrappers', wrap + ext)
        if not os.path.isfile(path):
            self.fail(block, f'wrapper {os.path.relpath(path, self.a.root)} not found')
            return None
        text = open(path, encoding='utf-8').read()
        if '@SAMPLE@' not in text:
            self.fail(block, f'wrapper {wrap}{ext} has no @SAMPLE@ line')
            return None
        # The sample takes the marker's indentation, and #line directives
        # make compiler messages name the Markdown lines (C and C++ only).
        out, c_like = [], ext in ('.c', '.cpp')
        for n, line in enumerate(text.split('\n'), 1):
            if '@SAMPLE@' not in line:
                out.append(line)
                continue
            indent = line[:len(line) - len(line.lstrip())]
            if c_like:
                out.append(f'#line {block.line + 1} "{block.path}"')
            out += [indent + l if l.strip() else l for l in block.text.rstrip('\n').split('\n')]
            if c_like:
                out.append(f'#line {n + 1} "tests/docs/wrappers/{wrap}{ext}"')
        return '\n'.join(out)

    def run(self, block, cmd, cwd, **kw):
        try:
            p = subprocess.run(cmd, cwd=cwd, env=self.env, capture_output=True, text=True,
                               timeout=RUN_TIMEOUT, **kw)
        except subprocess.TimeoutExpired:
            self.fail(block, f'timed out after {RUN_TIMEOUT} s')
            return None
        if p.returncode != 0:
            self.fail(block, f'exited {p.returncode}\n--- stdout\n{p.stdout[-3000:]}'
                             f'--- stderr\n{p.stderr[-3000:]}')
            return None
        return p.stdout

    def compile_and_run(self, block, scratch, lang):
        ext = '.c' if lang == 'c' else '.cpp'
        src = self.source_of(block, ext)
        if src is None:
            return None
        if 'wrap' not in block.directives and not re.search(r'\bint\s+main\s*\(', src):
            self.fail(block, 'a fragment: precede it with <!-- sample: wrap=NAME --> '
                             '(tests/docs/wrappers/NAME' + ext + ')')
            return None
        if lang == 'cpp':
            if not self.a.cxx:
                self.count('cpp skipped (no C++ compiler)')
                return None
            for inc in re.findall(r'#include\s*<(clv/[^>]+)>', src):
                if not any(os.path.isfile(os.path.join(d, inc)) for d in self.a.include):
                    self.count('cpp skipped (header absent)')
                    return None
        stem = re.sub(r'\W', '_', f'{block.path}_{block.line}')
        srcfile = os.path.join(scratch, '.sample_' + stem + ext)
        exe = os.path.join(scratch, '.sample_' + stem)
        with open(srcfile, 'w', encoding='utf-8') as f:
            f.write(f'#line {block.line + 1} "{block.path}"\n' if 'wrap' not in block.directives else '')
            f.write(src)
        compiler = shlex.split(self.a.cc if lang == 'c' else self.a.cxx)
        std = ['-std=c11'] if lang == 'c' else ['-std=c++11']
        incs = [f'-I{d}' for d in self.a.include]
        libdir = os.path.dirname(os.path.abspath(self.a.lib))
        cmd = compiler + std + ['-Wall', '-Wextra', '-Werror', '-pedantic', '-D_POSIX_C_SOURCE=200809L'] + incs + \
            [srcfile, '-o', exe, self.a.lib, f'-Wl,-rpath,{libdir}', '-lm', '-lpthread']
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            self.fail(block, 'does not compile:\n' + p.stderr[-4000:])
            return None
        if block.directives.get('compile-only'):
            self.count(f'{lang} compiled only')
            return None
        out = self.run(block, [exe], scratch)
        if out is not None:
            self.count(f'{lang} compiled and run')
        return out

    # ---- one document ----------------------------------------------------------
    def check_file(self, rel):
        scratch = tempfile.mkdtemp(prefix='clv-docs-')
        last_out = None
        for b in parse_blocks(self.a.root, rel):
            tag = b.tag
            if tag in DELEGATED:
                if rel == DELEGATED[tag]:
                    self.count(f'{tag} left to {rel}\'s own test')
                    continue
                if tag == 'python':
                    src = self.source_of(b, '.py')
                    if src is not None:
                        out = self.run(b, [sys.executable, '-'], scratch, input=src)
                        if out is not None:
                            last_out = out
                            self.count('python run')
                    continue
                self.fail(b, f'```{tag} is only checked in {DELEGATED[tag]}')
            elif tag in ('c', 'cpp'):
                out = self.compile_and_run(b, scratch, tag)
                if out is not None:
                    last_out = out
            elif tag in ('sh', 'console'):
                for line in self.shell_lines(b):
                    self.check_command_line(b, line)
                if b.directives.get('run'):
                    script = b.text if tag == 'sh' else '\n'.join(self.shell_lines(b))
                    out = self.run(b, ['bash', '-e', '-o', 'pipefail', '-c', script], scratch)
                    if out is not None:
                        last_out = out
                        self.count('sh blocks run')
            elif tag == 'text':
                if b.directives.get('expect'):
                    if last_out is None:
                        self.fail(b, 'expect: no sample ran before this block')
                    elif not numbers_match(b.text, last_out):
                        self.fail(b, 'output differs from the sample\'s\n--- documented\n'
                                     f'{b.text}--- actual\n{last_out}')
                    else:
                        self.count('outputs matched')
                else:
                    self.count('text blocks')
            elif tag == '':
                self.fail(b, 'fence without a language tag (use ```text for output)')
            else:
                self.fail(b, f'```{tag} is not a checked language (c, cpp, sh, console, text)')
        shutil.rmtree(scratch, ignore_errors=True)


def self_test(a, files, c):
    """The checker must catch what it exists to catch: each block of the
    fixture is broken in one way, and each must be reported."""
    failed = {f.split(' ', 1)[0] for f in c.failures}
    blocks = [b for rel in files for b in parse_blocks(a.root, rel)]
    missed = [b.where() for b in blocks if b.where() not in failed and 'pass' not in b.directives]
    wrong = [b.where() for b in blocks if b.where() in failed and 'pass' in b.directives]
    for f in c.failures:
        print('caught as expected: ' + f.split('\n', 1)[0])
    if missed or wrong:
        print('NOT caught: ' + ', '.join(missed) + '; failed but should pass: ' + ', '.join(wrong),
              file=sys.stderr)
        return 1
    print(f'all {len(failed)} broken samples caught')
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--root', required=True)
    ap.add_argument('--clv', required=True)
    ap.add_argument('--cc', required=True)
    ap.add_argument('--cxx', default='')
    ap.add_argument('--include', action='append', default=[])
    ap.add_argument('--lib', required=True)
    ap.add_argument('--expect-fail', action='store_true',
                    help='self-test: every block of the given files must fail')
    ap.add_argument('files', nargs='*')
    a = ap.parse_args()
    files = a.files or ['README.md'] + sorted(
        os.path.relpath(p, a.root) for p in glob.glob(os.path.join(a.root, 'docs', '*.md')))
    c = Checker(a)
    try:
        for rel in files:
            c.check_file(rel)
    finally:
        shutil.rmtree(c.bindir, ignore_errors=True)
    if a.expect_fail:
        return self_test(a, files, c)
    for k in sorted(c.counts):
        print(f'{c.counts[k]:4d} {k}')
    if c.failures:
        print(f'\n{len(c.failures)} sample(s) FAILED:\n', file=sys.stderr)
        for f in c.failures:
            print(f + '\n', file=sys.stderr)
        return 1
    print(f'every sample of {len(files)} files checked')
    return 0


if __name__ == '__main__':
    sys.exit(main())
