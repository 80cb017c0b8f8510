#!/usr/bin/env python3
# CPU model of one shared-memory stage of src/backends/cuda/gemm/mma_int_gemm_kernel.cuh: the
# swizzled cp.async stores, ldmatrix.x4 / 8-byte loads as each lane sees them, the int4 -> int8
# widening (same bit operations), and the mma.sync fragment layouts of the PTX ISA (m16n8k32
# .s8/.u8, m16n8k64 .s4/.u4). Checks, for every warp of both CTA tiles and every family, that the
# accumulators equal A·Bᵀ, and that the swizzles are free of bank conflicts. It checks the
# kernel's index arithmetic with no GPU at hand; it cannot check the hardware's semantics (the
# GPU test does). Run: python3 bench/gemm/sim_mma_fragments.py  (a few seconds)
import numpy as np
rng = np.random.default_rng(0)

def swz(rowb, r, c):
    if rowb == 64: return r*64 + ((c ^ ((r >> 1) & 3)) << 4)
    if rowb == 128: return r*128 + ((c ^ ((r & 3) << 1)) << 4)
    raise ValueError

def store_stage(rows_bytes, rowb):  # rows_bytes: [R, rowb] uint8 -> smem bytes
    R = rows_bytes.shape[0]
    sm = np.zeros(R*rowb, np.uint8)
    for r in range(R):
        for c in range(rowb // 16):
            o = swz(rowb, r, c)
            sm[o:o+16] = rows_bytes[r, c*16:(c+1)*16]
    return sm

def word(sm, addr): return int.from_bytes(sm[addr:addr+4].tobytes(), 'little')

def ldsm_x4(sm, addrs):  # addrs[32] row addresses; returns regs[lane][4]
    regs = [[0]*4 for _ in range(32)]
    for l in range(32):
        for i in range(4):
            row_addr = addrs[8*i + l//4]
            regs[l][i] = word(sm, row_addr + 4*(l % 4))
    return regs

def bytes_of(w): return [(w >> (8*i)) & 0xFF for i in range(4)]
def s8(b):
    b = int(b); return b - 256 if b >= 128 else b
def nib(w, signed):
    out = []
    for i in range(8):
        v = (w >> (4*i)) & 0xF
        out.append(v - 16 if signed and v >= 8 else v)
    return out

def mma(acc, A_regs, B_regs, kind, a_unsigned):
    # A_regs[lane][4], B_regs[lane][2]; acc[lane][4]
    K = 32 if kind == 's8' else 64
    A = np.zeros((16, K), np.int64); B = np.zeros((K, 8), np.int64)
    for l in range(32):
        g, t = l // 4, l % 4
        for ri, (row, kofs) in enumerate([(g, 0), (g+8, 0), (g, K//2), (g+8, K//2)]):
            w = A_regs[l][ri]
            if kind == 's8':
                vals = [b if a_unsigned else s8(b) for b in bytes_of(w)]; k0 = kofs + 4*t
            else:
                vals = nib(w, not a_unsigned); k0 = kofs + 8*t
            for i, v in enumerate(vals): A[row, k0+i] = v
        for ri, kofs in enumerate([0, K//2]):
            w = B_regs[l][ri]
            if kind == 's8':
                vals = [s8(b) for b in bytes_of(w)]; k0 = kofs + 4*t
            else:
                vals = nib(w, True); k0 = kofs + 8*t
            for i, v in enumerate(vals): B[k0+i, g] = v
    C = A @ B
    for l in range(32):
        g, t = l // 4, l % 4
        acc[l][0] += C[g, 2*t]; acc[l][1] += C[g, 2*t+1]; acc[l][2] += C[g+8, 2*t]; acc[l][3] += C[g+8, 2*t+1]

def widen(w):
    ev = w & 0x0F0F0F0F; od = (w >> 4) & 0x0F0F0F0F
    ev |= ((ev & 0x08080808) * 0x1E) & 0xFFFFFFFF; od |= ((od & 0x08080808) * 0x1E) & 0xFFFFFFFF
    def perm(x, y, s):
        src = bytes_of(x) + bytes_of(y)
        return sum(src[(s >> (4*i)) & 7] << (8*i) for i in range(4))
    return perm(ev, od, 0x5140), perm(ev, od, 0x7362)

def run(family, a_unsigned, BM=128, BN=128, WM=2, WN=4):
    steps, arow, brow = {'w8a8': (2, 64, 64), 'w4a4': (2, 64, 64), 'w4a8': (4, 128, 64)}[family]
    a_bytes = rng.integers(0, 256, (BM, arow), dtype=np.uint8)
    b_bytes = rng.integers(0, 256, (BN, brow), dtype=np.uint8)
    def decode(byts, layout):
        if layout in ('s8', 'u8'):
            return np.array([[s8(b) if layout == 's8' else int(b) for b in row] for row in byts], np.int64)
        out = []
        for row in byts:
            r = []
            for b in row:
                b = int(b); lo, hi = b & 0xF, b >> 4
                if layout == 's4': lo, hi = (lo - 16 if lo >= 8 else lo), (hi - 16 if hi >= 8 else hi)
                r += [lo, hi]
            out.append(r)
        return np.array(out, np.int64)
    al = {'w8a8': 'u8' if a_unsigned else 's8', 'w4a8': 'u8' if a_unsigned else 's8', 'w4a4': 'u4' if a_unsigned else 's4'}[family]
    bl = 's8' if family == 'w8a8' else 's4'
    ref = decode(a_bytes, al) @ decode(b_bytes, bl).T
    smA = store_stage(a_bytes, arow); smB = store_stage(b_bytes, brow)
    WTM, WTN = BM // WM, BN // WN; MT, NT = WTM // 16, WTN // 8
    for warp in range(WM * WN):
        wm = (warp // WN) * WTM; wn = (warp % WN) * WTN
        acc = [[[[0]*4 for _ in range(32)] for _ in range(NT)] for _ in range(MT)]
        if family != 'w4a8':
            kind = 's8' if family == 'w8a8' else 's4'
            for j in range(steps):
                af = [ldsm_x4(smA, [swz(arow, wm + 16*i + (l & 15), 2*j + (l >> 4)) for l in range(32)]) for i in range(MT)]
                bf = [None]*NT
                for q in range(NT // 2):
                    x = ldsm_x4(smB, [swz(brow, wn + 16*q + (l & 7) + ((l >> 4) << 3), 2*j + ((l >> 3) & 1)) for l in range(32)])
                    bf[2*q] = [[x[l][0], x[l][1]] for l in range(32)]
                    bf[2*q+1] = [[x[l][2], x[l][3]] for l in range(32)]
                for i in range(MT):
                    for n in range(NT): mma(acc[i][n], af[i], bf[n], kind, a_unsigned)
        else:
            bw = [[None]*steps for _ in range(NT)]
            for q in range(NT // 2):
                for jj in range(steps // 2):
                    x = ldsm_x4(smB, [swz(brow, wn + 16*q + (l & 7) + ((l >> 4) << 3), 2*jj + ((l >> 3) & 1)) for l in range(32)])
                    bw[2*q][2*jj] = [x[l][0] for l in range(32)]; bw[2*q][2*jj+1] = [x[l][1] for l in range(32)]
                    bw[2*q+1][2*jj] = [x[l][2] for l in range(32)]; bw[2*q+1][2*jj+1] = [x[l][3] for l in range(32)]
            for s in range(steps):
                af = []
                for i in range(MT):
                    regs = []
                    for l in range(32):
                        g, t = l // 4, l % 4
                        c = 2*s + (t >> 1); within = (t & 1) << 3
                        r = wm + 16*i + g
                        a0, a2 = word(smA, swz(arow, r, c) + within), word(smA, swz(arow, r, c) + within + 4)
                        a1, a3 = word(smA, swz(arow, r+8, c) + within), word(smA, swz(arow, r+8, c) + within + 4)
                        regs.append([a0, a1, a2, a3])
                    af.append(regs)
                for n in range(NT):
                    b = [list(widen(bw[n][s][l])) for l in range(32)]
                    for i in range(MT): mma(acc[i][n], af[i], b, 's8', a_unsigned)
        for i in range(MT):
            for n in range(NT):
                for l in range(32):
                    g, t = l // 4, l % 4
                    for h in range(2):
                        for e in range(2):
                            r = wm + 16*i + g + 8*h; c = wn + 8*n + 2*t + e
                            assert acc[i][n][l][2*h+e] == ref[r, c], (family, warp, i, n, l, h, e)
    print(family, 'unsigned' if a_unsigned else 'signed', BM, BN, 'OK')

# bank-conflict check of the swizzles
def banks_ldsm(rowb, r0, c):
    return sorted(((swz(rowb, r0 + r, c)) // 16) % 8 for r in range(8))
for rowb in (64,):
    for c in range(rowb // 16):
        assert banks_ldsm(rowb, 0, c) == list(range(8)), (rowb, c)
for s in range(4):  # W4A8 A lds64 half-warp: rows g 0..3, t 0..3, 8 bytes
    segs = set()
    for g in range(4):
        for t in range(4):
            o = swz(128, g, 2*s + (t >> 1)) + ((t & 1) << 3)
            segs.add((o % 128) // 8)
    assert len(segs) == 16, s
print('swizzles conflict-free')
for fam in ('w8a8', 'w4a4', 'w4a8'):
    for au in (False, True):
        run(fam, au)
    run(fam, False, BM=32, BN=64, WM=1, WN=4)
