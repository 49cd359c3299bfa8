#!/usr/bin/env python3
"""Generates native/kernels/cpu/winograd-coeffs.inc: the Winograd F(m, r) transforms the CPU kernels use.

Toom-Cook construction (Lavin & Gray 2015; the wincnn layout): for the alpha - 1 finite points p_i plus
the point at infinity, with f_i = prod_{j != i} (p_i - p_j):
  A^T[k][i] = p_i^k                (m x alpha; the infinity column is e_{m-1})
  G[i][j]   = p_i^j / f_i          (alpha x r; the infinity row is e_{r-1})
  B^T[i]    = coefficients of prod_{j != i} (x - p_j)   (alpha x alpha; the infinity row: prod_j (x - p_j))
so that y = A^T [ (G g) * (B^T d) ] is the valid correlation of d (alpha values) with g (r values), and in
2D Y = A^T [ (G g G^T) * (B^T d B) ] A. Every matrix is checked here in exact rational arithmetic.

The 1D transforms are emitted as straight-line vector code with the zeros dropped and the +-p point pairs
sharing their even and odd parts (E +- p O). The weight transform G runs once at load in double, so G is
emitted as a table. Run: /usr/bin/python3 scripts/winograd_gen.py > native/kernels/cpu/winograd-coeffs.inc
"""
from fractions import Fraction as Fr
import itertools
import sys

# the points: 0, +-1, +-2 (alpha 6), then 1/2 (alpha 7), then -1/2 (alpha 8), as ncnn and wincnn use
POINTS = [Fr(0), Fr(1), Fr(-1), Fr(2), Fr(-2), Fr(1, 2), Fr(-1, 2)]
# (m, r): output tile m x m, kernel r x r. F(2,5) and F(3,5) were measured too (seed conv2 at batch 32:
# 1.3x and 2.1x faster than the GEMM path, against 3.8x for F(4,5), same accuracy end to end)
VARIANTS = [(4, 3), (4, 5)]


def points(alpha):
    return POINTS[:alpha - 1]


def poly_times_linear(c, q):  # (c_0 + c_1 x + ...) * (x - q), coefficients low to high
    out = [Fr(0)] * (len(c) + 1)
    for k, v in enumerate(c):
        out[k + 1] += v
        out[k] -= q * v
    return out


def poly_without(pts, skip):
    c = [Fr(1)]
    for j, q in enumerate(pts):
        if j not in skip:
            c = poly_times_linear(c, q)
    return c


def matrices(m, r):
    alpha = m + r - 1
    pts = points(alpha)
    f = [poly_eval_prod(pts, i) for i in range(len(pts))]
    at = [[p ** k for p in pts] + [Fr(1 if k == m - 1 else 0)] for k in range(m)]
    g = [[p ** j / f[i] for j in range(r)] for i, p in enumerate(pts)] + [[Fr(1 if j == r - 1 else 0) for j in range(r)]]
    bt = [poly_without(pts, {i}) + [Fr(0)] for i in range(len(pts))] + [poly_without(pts, set())]
    check(m, r, at, g, bt)
    return at, g, bt


def poly_eval_prod(pts, i):
    prod = Fr(1)
    for j, q in enumerate(pts):
        if j != i:
            prod *= pts[i] - q
    return prod


def check(m, r, at, g, bt):
    """A^T [(G g) * (B^T d)] == correlation, exactly, for each unit g and d (bilinear: enough)."""
    alpha = m + r - 1
    for a in range(r):
        for b in range(alpha):
            gv = [Fr(1 if j == a else 0) for j in range(r)]
            dv = [Fr(1 if j == b else 0) for j in range(alpha)]
            u = [sum(g[i][j] * gv[j] for j in range(r)) for i in range(alpha)]
            v = [sum(bt[i][j] * dv[j] for j in range(alpha)) for i in range(alpha)]
            y = [sum(at[k][i] * u[i] * v[i] for i in range(alpha)) for k in range(m)]
            want = [sum(dv[k + j] * gv[j] for j in range(r)) for k in range(m)]
            assert y == want, (m, r, a, b, y, want)


def lit(c):
    v = float(c)
    assert v == c, c  # every coefficient used in float code is exact in binary
    return repr(v) + 'f'


def linear(terms):
    """sum of coefficient * name, zeros dropped, +-1 as plain adds."""
    out = ''
    for c, name in terms:
        if c == 0:
            continue
        if c == 1:
            t = name
        elif c == -1:
            t = '-' + name
        else:
            t = f'{lit(abs(c))} * {name}' if c > 0 else f'-{lit(abs(c))} * {name}'
        if not out:
            out = t
        elif t.startswith('-'):
            out += ' - ' + t[1:]
        else:
            out += ' + ' + t
    return out or 'vec_t{}'


def pairs(pts):
    """index pairs (i, j) with p_j = -p_i != 0, and the indices left alone"""
    used, out = set(), []
    for i, p in enumerate(pts):
        if i in used or p == 0:
            continue
        for j in range(i + 1, len(pts)):
            if j not in used and pts[j] == -p:
                out.append((i, j))
                used |= {i, j}
                break
    return out, [i for i in range(len(pts)) if i not in used]


def emit_input(alpha):
    """y = B^T x; rows of +-p: prod_{j != i}(x - p_j) = (x +- p) R(x), so y = E +- p O with
    E = sum R_k x_{k+1}, O = sum R_k x_k"""
    pts = points(alpha)
    _, _, bt = matrices(alpha - 2, 3)  # B^T depends on the points only
    lines = [f'inline void input_1d_a{alpha}(const vec_t x[{alpha}], vec_t y[{alpha}]) {{']
    prs, alone = pairs(pts)
    for i, j in prs:
        p = pts[i]
        rest = poly_without(pts, {i, j})
        e = linear([(c, f'x[{k + 1}]') for k, c in enumerate(rest)])
        o = linear([(c, f'x[{k}]') for k, c in enumerate(rest)])
        po = 'o' if p == 1 else f'{lit(p)} * o'
        lines.append(f'  {{ const vec_t e = {e}, o = {o};')
        lines.append(f'    y[{i}] = e + {po}; y[{j}] = e - {po}; }}')
        # check against B^T rows
        for row, sign in ((i, 1), (j, -1)):
            want = poly_without(pts, {row})
            got = [Fr(0)] * alpha
            for k, c in enumerate(rest):
                got[k + 1] += c
                got[k] += sign * p * c
            assert got[:len(want)] == want and all(v == 0 for v in got[len(want):])
    for i in alone:
        lines.append(f'  y[{i}] = {linear([(c, f"x[{k}]") for k, c in enumerate(bt[i])])};')
    lines.append(f'  y[{alpha - 1}] = {linear([(c, f"x[{k}]") for k, c in enumerate(bt[alpha - 1])])};')
    lines.append('}')
    return '\n'.join(lines)


def emit_output(m, alpha):
    """y = A^T x; the columns of +-p share s = x_i + x_j (even powers) and d = x_i - x_j (odd powers)"""
    pts = points(alpha)
    prs, alone = pairs(pts)
    lines = [f'inline void output_1d_m{m}_a{alpha}(const vec_t x[{alpha}], vec_t y[{m}]) {{']
    for n, (i, j) in enumerate(prs):
        lines.append(f'  const vec_t s{n} = x[{i}] + x[{j}], d{n} = x[{i}] - x[{j}];')
    for k in range(m):
        terms = [(pts[i] ** k, f'x[{i}]') for i in alone]
        terms += [(pts[i] ** k, f's{n}' if k % 2 == 0 else f'd{n}') for n, (i, j) in enumerate(prs)]
        if k == m - 1:
            terms.append((Fr(1), f'x[{alpha - 1}]'))
        lines.append(f'  y[{k}] = {linear(terms)};')
    lines.append('}')
    return '\n'.join(lines)


def main():
    out = ['// Generated by scripts/winograd_gen.py: do not edit. Winograd F(m, r) transforms, checked there in',
           '// exact arithmetic. Included by winograd-body.inc (vec_t defined) and winograd.cc (WINOGRAD_WEIGHTS_ONLY).',
           '// clang-format off']
    out.append('#ifndef WINOGRAD_WEIGHTS_ONLY')
    for alpha in sorted({m + r - 1 for m, r in VARIANTS}):
        out.append(f'// B^T x, alpha = {alpha}, points ' + ', '.join(str(p) for p in points(alpha)) + ', inf')
        out.append(emit_input(alpha))
    for m, r in VARIANTS:
        out.append(f'// A^T x of F({m},{r})')
        out.append(emit_output(m, m + r - 1))
    out.append('#else')
    for m, r in VARIANTS:
        _, g, _ = matrices(m, r)
        alpha = m + r - 1
        rows = ', '.join('{' + ', '.join(f'{float(v)!r}' if float(v) == v else f'{v.numerator}.0 / {v.denominator}.0' for v in row) + '}' for row in g)
        out.append(f'// G of F({m},{r}): {alpha} x {r}')
        out.append(f'constexpr double winograd_g_m{m}_r{r}[{alpha}][{r}] = {{{rows}}};')
    out.append('#endif')
    out.append('// clang-format on')
    sys.stdout.write('\n'.join(out) + '\n')


if __name__ == '__main__':
    main()
