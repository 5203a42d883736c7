"""Exact path-dependent Tree SHAP over fitted trees as arrays, by a numba-compiled kernel."""

from __future__ import annotations

import functools
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

KERNEL_BLOCK = 32


@dataclass(frozen=True, eq=False)
class _Tree:
    """One fitted tree as arrays: children (-1 at leaves), split, training cover, leaf value."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    cover: np.ndarray
    value: np.ndarray


def compile_tree_kernel() -> float:
    """Compile the Tree SHAP kernel now; returns the seconds it took (0.0 if already done).
    A job or the app may call this ahead of time (e.g. in a background thread) so that the
    first large tree explanation does not wait for it."""
    if _kernel_ready():
        return 0.0
    started = time.perf_counter()
    stump = _Tree(
        left=np.array([1, -1, -1], dtype=np.int64),
        right=np.array([2, -1, -1], dtype=np.int64),
        feature=np.array([0, -2, -2], dtype=np.int64),
        threshold=np.zeros(3),
        missing_left=np.zeros(3, dtype=np.bool_),
        cover=np.array([2.0, 1.0, 1.0]),
        value=np.array([0.0, -1.0, 1.0]),
    )
    _tree_shap(_prepare([stump]), np.zeros((1, 1)), 1)
    return time.perf_counter() - started


def _kernel_ready() -> bool:
    return _kernel.cache_info().currsize > 0 and bool(_kernel().signatures)


@dataclass(frozen=True, eq=False)
class _Prepared:
    """All trees' nodes in preorder, with the per-edge quantities the kernel needs.

    For the edge into node c, splitting its parent on feature i: ``q`` is cover(c) /
    cover(parent); ``ahat`` is 1 / (product of q over i's edges down to c), the value that
    a_i = s_i / q_i takes when the row follows all of them (0 otherwise); ``prev`` is the depth
    of the nearest ancestor edge on feature i (-1 if none) and ``prev_ahat`` its ``ahat``.
    """

    starts: np.ndarray
    stops: np.ndarray
    max_depths: np.ndarray
    points: np.ndarray
    depth: np.ndarray
    leaf: np.ndarray
    value: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    is_left: np.ndarray
    q: np.ndarray
    prev: np.ndarray
    ahat: np.ndarray
    prev_ahat: np.ndarray
    same_below: np.ndarray
    expected: float

    def arrays(self) -> tuple[np.ndarray, ...]:
        return (
            self.starts, self.stops, self.max_depths, self.points, self.depth, self.leaf,
            self.value, self.feature, self.threshold, self.missing_left, self.is_left, self.q,
            self.prev, self.ahat, self.prev_ahat, self.same_below,
        )  # fmt: skip


def _concatenated(trees: list[_Tree]) -> dict[str, np.ndarray]:
    sizes = np.array([len(tree.left) for tree in trees], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

    def shifted(children: str) -> np.ndarray:
        parts = [
            np.where(getattr(t, children) >= 0, getattr(t, children) + o, -1)
            for t, o in zip(trees, offsets, strict=True)
        ]
        return np.concatenate(parts).astype(np.int64)

    arrays = {
        name: np.concatenate([getattr(tree, name) for tree in trees])
        for name in ("feature", "threshold", "missing_left", "cover", "value")
    }
    arrays.update(left=shifted("left"), right=shifted("right"), sizes=sizes, offsets=offsets)
    arrays["tree_of"] = np.repeat(np.arange(len(trees)), sizes)
    return arrays


def _levels(left: np.ndarray, right: np.ndarray, roots: np.ndarray) -> list[np.ndarray]:
    levels, level = [], roots
    while level.size:
        levels.append(level)
        inner = level[left[level] >= 0]
        level = np.concatenate([left[inner], right[inner]])
    return levels


def _preorder_positions(
    left: np.ndarray, right: np.ndarray, levels: list[np.ndarray]
) -> np.ndarray:
    size = np.ones(len(left), dtype=np.int64)
    for level in reversed(levels):
        inner = level[left[level] >= 0]
        size[inner] = 1 + size[left[inner]] + size[right[inner]]
    position = np.zeros(len(left), dtype=np.int64)
    for level in levels:
        inner = level[left[level] >= 0]
        position[left[inner]] = position[inner] + 1
        position[right[inner]] = position[inner] + 1 + size[left[inner]]
    return position


def _previous_same(parent: np.ndarray, edge_feature: np.ndarray) -> np.ndarray:
    """For each node, the nearest ancestor (below the root) entered by a split on the same
    feature as the node's own edge, or -1."""
    previous = np.full(len(parent), -1, dtype=np.int64)
    searching = np.flatnonzero(parent >= 0)
    current = parent[searching]
    while searching.size:
        valid = parent[current] >= 0
        searching, current = searching[valid], current[valid]
        hit = edge_feature[current] == edge_feature[searching]
        previous[searching[hit]] = current[hit]
        searching, current = searching[~hit], parent[current[~hit]]
    return previous


def _per_tree_max(values: np.ndarray, tree_of: np.ndarray, trees: int) -> np.ndarray:
    """The largest value in each tree (0 for a tree with none), without a Python loop."""
    order = np.lexsort((values, tree_of))
    last = np.flatnonzero(np.r_[tree_of[order][1:] != tree_of[order][:-1], True])
    out = np.zeros(trees, dtype=values.dtype)
    out[tree_of[order][last]] = values[order][last]
    return out


def _prepare(trees: list[_Tree]) -> _Prepared:
    """Vectorised over every node of every tree at once (no per-node Python loop)."""
    a = _concatenated(trees)
    left, right, offsets, tree_of = a["left"], a["right"], a["offsets"], a["tree_of"]
    n = len(left)
    nodes = np.arange(n)
    inner = left >= 0
    parent = np.full(n, -1, dtype=np.int64)
    parent[left[inner]], parent[right[inner]] = nodes[inner], nodes[inner]
    is_left = np.zeros(n, dtype=np.bool_)
    is_left[left[inner]] = True
    levels = _levels(left, right, offsets)
    depth = np.zeros(n, dtype=np.int64)
    for number, level in enumerate(levels):
        depth[level] = number
    above = np.where(parent >= 0, parent, nodes)
    edge_feature = np.where(parent >= 0, a["feature"][above], 0).astype(np.int64)
    q = a["cover"] / np.maximum(a["cover"][above], np.finfo(float).tiny)
    previous = _previous_same(parent, edge_feature)
    known = previous >= 0
    ahat, unique = np.ones(n), np.zeros(n, dtype=np.int64)
    for level in levels[1:]:
        before = previous[level]
        ahat[level] = np.where(before >= 0, ahat[np.maximum(before, 0)], 1.0) / q[level]
        unique[level] = unique[parent[level]] + (before < 0)
    leaves = ~inner
    # the path polynomial of a leaf has one factor per distinct feature on its path, so
    # ceil(widest / 2) Gauss-Legendre points integrate every product exactly
    widest = _per_tree_max(np.where(leaves, unique, 0), tree_of, len(trees))
    same_below = np.zeros(n, dtype=np.bool_)
    same_below[previous[known]] = True
    roots_cover = a["cover"][offsets][tree_of]
    expected = float(np.sum(a["value"][leaves] * (a["cover"] / roots_cover)[leaves]))
    order = np.empty(n, dtype=np.int64)
    order[offsets[tree_of] + _preorder_positions(left, right, levels)] = nodes
    return _Prepared(
        starts=offsets,
        stops=offsets + a["sizes"],
        max_depths=_per_tree_max(depth, tree_of, len(trees)),
        points=np.maximum(1, (widest + 1) // 2).astype(np.int64),
        depth=depth[order],
        leaf=leaves[order],
        value=a["value"][order].astype(np.float64),
        feature=edge_feature[order],
        threshold=a["threshold"][above][order].astype(np.float64),
        missing_left=a["missing_left"][above][order].astype(np.bool_),
        is_left=is_left[order],
        q=q[order],
        prev=np.where(known, depth[np.maximum(previous, 0)], -1)[order].astype(np.int64),
        ahat=ahat[order],
        prev_ahat=np.where(known, ahat[np.maximum(previous, 0)], 1.0)[order],
        same_below=same_below[order],
        expected=expected,
    )


def _gauss_table(most: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, 1] for 1..most points, row k-1 for k points."""
    nodes, weights = np.zeros((most, most)), np.zeros((most, most))
    for count in range(1, most + 1):
        x, w = np.polynomial.legendre.leggauss(count)
        nodes[count - 1, :count], weights[count - 1, :count] = (x + 1.0) / 2.0, w / 2.0
    return nodes, weights


def _tree_shap(prepared: _Prepared, matrix: np.ndarray, n_jobs: int) -> np.ndarray:
    """Rows split across ``n_jobs`` threads; the compiled kernel releases the GIL."""
    kernel = _kernel()
    nodes, weights = _gauss_table(int(prepared.points.max()))
    workers = max(1, min(n_jobs, os.cpu_count() or 1, len(matrix)))
    chunks = [chunk for chunk in np.array_split(np.arange(len(matrix)), workers) if chunk.size]

    def one(chunk: np.ndarray) -> np.ndarray:
        phi = np.zeros((len(chunk), matrix.shape[1]))
        rows = np.ascontiguousarray(matrix[chunk])
        space = _workspace(prepared, matrix.shape[1])
        kernel(rows, phi, *prepared.arrays(), nodes, weights, *space)
        return phi

    if len(chunks) <= 1:
        return one(np.arange(len(matrix)))
    with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
        return np.vstack(list(pool.map(one, chunks)))


def _workspace(prepared: _Prepared, features: int) -> tuple[np.ndarray, ...]:
    """The kernel's scratch arrays, sized for the deepest and widest tree. Allocated here, not
    in the kernel, because every numpy call inside a numba function adds to its compile time.
    The last row of A and AL stays 1.0: what an edge sees when its feature is new on the path.
    """
    levels = int(prepared.max_depths.max()) + 2
    points = int(prepared.points.max())
    nodes = int((prepared.stops - prepared.starts).max())
    block = KERNEL_BLOCK
    return (
        np.empty((levels, points, block)),  # P: the path polynomial at each depth
        np.empty((levels, points, block)),  # Sa: sums over the leaves below
        np.empty((levels, points, block)),  # BS: the same, below a later split on the feature
        np.empty((levels, block)),  # bh
        np.ones((levels, block)),  # A
        np.empty((levels, block)),  # Ap
        np.ones((levels, block)),  # AL
        np.empty(levels, dtype=np.int64),  # at
        np.empty((5, block)),  # h, s1, s0, sd, dA
        np.zeros((features, block)),  # Xt: this block's rows, feature by feature
        np.empty((3, nodes, points)),  # r1, r0, wi of one tree
        np.empty(points),  # wi0
    )


@functools.cache
def _kernel() -> Any:
    """Path-dependent Tree SHAP in O(nodes x points) per row and tree (Linear TreeShap's idea).

    Each leaf with value v and cover share r adds, for every feature i on its path,
    v * r * (a_i - 1) * integral_0^1 prod_{j != i} (1 + t (a_j - 1)) dt, where a_j = s_j / q_j
    (s_j: 1 if the row follows all of j's splits on the path, else 0; q_j: their cover shares).
    That is what shap's TreeExplainer computes (the Shapley weights are a Beta integral). The
    products are held at Gauss-Legendre points, so taking out a factor is one multiplication
    and the integral is exact; the sums over the leaves below each edge are gathered in one
    depth-first pass, 32 rows at a time. Compiled by numba on first use, once per process.
    """
    import numba

    flags = {"nsz", "arcp", "contract", "reassoc"}  # no "nnan": missing values are real here

    @numba.njit(nogil=True, fastmath=flags)
    def kernel(
        X, phi, starts, stops, max_depths, points, depth, leaf, value, feature, threshold,
        missing_left, is_left, q, prev, ahat, prev_ahat, same_below, gauss_t, gauss_w,
        P, Sa, BS, bh, A, Ap, AL, at, work, Xt, edges, wi0,
    ):  # fmt: skip
        n_rows = X.shape[0]
        block = Xt.shape[1]
        new_feature = A.shape[0] - 1
        h, s1, s0, sd, dA = work[0], work[1], work[2], work[3], work[4]
        r1, r0, wi = edges[0], edges[1], edges[2]
        for tree in range(starts.shape[0]):
            start, stop, nq = starts[tree], stops[tree], points[tree]
            if stop - start < 2:
                continue
            # per edge, independent of the rows: the path polynomial's factor when the row
            # follows the edge (r1) or not (r0), and the quadrature weights without i's factor
            for p in range(stop - start):
                for k in range(nq):
                    t = gauss_t[nq - 1, k]
                    own = 1.0 + t * (ahat[start + p] - 1.0)
                    prior = 1.0 + t * (prev_ahat[start + p] - 1.0)
                    r1[p, k] = q[start + p] * own / prior
                    r0[p, k] = q[start + p] * (1.0 - t) / prior
                    wi[p, k] = gauss_w[nq - 1, k] / own
            for k in range(nq):
                wi0[k] = gauss_w[nq - 1, k] / (1.0 - gauss_t[nq - 1, k])
            for first in range(0, n_rows, block):
                m = min(block, n_rows - first)
                for r in range(m):  # this block's rows, one feature per line
                    for c in range(X.shape[1]):
                        Xt[c, r] = X[first + r, c]
                for k in range(nq):
                    for r in range(block):
                        P[0, k, r] = 1.0
                        Sa[0, k, r] = 0.0
                top = 0
                at[0] = start
                for p in range(start + 1, stop + 1):
                    d = depth[p] if p < stop else 1
                    while top >= d:  # an inner node whose subtree is complete
                        j = at[top]
                        pd = prev[j]
                        for r in range(block):
                            h[r] = bh[top, r]
                        for k in range(nq):
                            c0 = wi0[k]
                            dc = wi[j - start, k] - c0
                            if same_below[j]:
                                for r in range(block):
                                    s = Sa[top, k, r]
                                    h[r] += (s - BS[top, k, r]) * (c0 + AL[top, r] * dc)
                                    Sa[top - 1, k, r] += s
                            else:
                                for r in range(block):
                                    s = Sa[top, k, r]
                                    h[r] += s * (c0 + AL[top, r] * dc)
                                    Sa[top - 1, k, r] += s
                            if pd >= 0:
                                for r in range(block):
                                    BS[pd, k, r] += Sa[top, k, r]
                        f = feature[j]
                        for r in range(m):
                            phi[first + r, f] += (A[top, r] - Ap[top, r]) * h[r]
                        if pd >= 0:
                            for r in range(block):
                                bh[pd, r] += h[r]
                        top -= 1
                    if p == stop:
                        break
                    f = feature[p]
                    pd = prev[p]
                    seen = pd if pd >= 0 else new_feature
                    thr = threshold[p]
                    nan_left = 1.0 if missing_left[p] else 0.0
                    left_edge = 1.0 if is_left[p] else 0.0
                    for r in range(block):  # branch-free, so it vectorises
                        x = Xt[f, r]
                        gl = (1.0 if x <= thr else 0.0) + (1.0 if x != x else 0.0) * nan_left
                        follows = left_edge * gl + (1.0 - left_edge) * (1.0 - gl)
                        alive = AL[seen, r]
                        s1[r] = alive * follows
                        s0[r] = alive - s1[r]
                        sd[r] = 1.0 - alive
                        dA[r] = s1[r] * ahat[p] - A[seen, r]
                    e = p - start
                    if leaf[p]:  # a leaf is entered and finished in one pass
                        v = value[p]
                        vq = v * q[p]
                        for r in range(block):
                            h[r] = 0.0
                        for k in range(nq):
                            a1 = v * r1[e, k]
                            a0 = v * r0[e, k]
                            c0 = wi0[k]
                            dc = wi[e, k] - c0
                            if pd >= 0:
                                for r in range(block):
                                    s = P[d - 1, k, r] * (s1[r] * a1 + s0[r] * a0 + sd[r] * vq)
                                    h[r] += s * (c0 + s1[r] * dc)
                                    Sa[d - 1, k, r] += s
                                    BS[pd, k, r] += s
                            else:
                                for r in range(block):
                                    s = P[d - 1, k, r] * (s1[r] * a1 + s0[r] * a0 + sd[r] * vq)
                                    h[r] += s * (c0 + s1[r] * dc)
                                    Sa[d - 1, k, r] += s
                        for r in range(m):
                            phi[first + r, f] += dA[r] * h[r]
                        if pd >= 0:
                            for r in range(block):
                                bh[pd, r] += h[r]
                    else:
                        qq = q[p]
                        for k in range(nq):
                            a1 = r1[e, k]
                            a0 = r0[e, k]
                            for r in range(block):
                                P[d, k, r] = P[d - 1, k, r] * (s1[r] * a1 + s0[r] * a0 + sd[r] * qq)
                                Sa[d, k, r] = 0.0
                            if same_below[p]:
                                for r in range(block):
                                    BS[d, k, r] = 0.0
                        for r in range(block):
                            bh[d, r] = 0.0
                            AL[d, r] = s1[r]
                            A[d, r] = s1[r] * ahat[p]
                            Ap[d, r] = A[d, r] - dA[r]
                        at[d] = p
                        top = d
        return phi

    return kernel
