/**
 * Frechet distance between two sets of feature vectors, each modelled as a Gaussian (Heusel et al.
 * 2017, the form of FID):  |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)).
 * Tr (S1 S2)^(1/2) = Tr (S1^(1/2) S2 S1^(1/2))^(1/2), a symmetric PSD form: both square roots by
 * the eigendecomposition of ml-matrix. In synthface the features are the evaluation classifier's
 * (the world's stand-in for Inception), so the value is not comparable with published FIDs.
 */
import { EigenvalueDecomposition, Matrix } from "ml-matrix";

export interface GaussianStats {
  mean: Float64Array;
  cov: Matrix;
  count: number;
}

/** Mean and (unbiased) covariance of rows of a flat [n, d] array. */
export function featureStats(features: ArrayLike<number>, d: number): GaussianStats {
  const n = features.length / d;
  if (!Number.isInteger(n) || n < 2) {
    throw new RangeError(
      `featureStats: need at least 2 rows of width ${d}, got ${features.length} values`,
    );
  }
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += features[i * d + j] / n;
  const cov = new Matrix(d, d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = features[i * d + j] - mean[j];
    for (let j = 0; j < d; j++) {
      const rj = row[j];
      for (let k = j; k < d; k++) cov.set(j, k, cov.get(j, k) + rj * row[k]);
    }
  }
  for (let j = 0; j < d; j++) {
    for (let k = j; k < d; k++) {
      const v = cov.get(j, k) / (n - 1);
      cov.set(j, k, v);
      cov.set(k, j, v);
    }
  }
  return { mean, cov, count: n };
}

/** Symmetric PSD square root through an eigendecomposition (negative round-off clipped to 0). */
export function sqrtPsd(m: Matrix): Matrix {
  const e = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const V = e.eigenvectorMatrix;
  const s = e.realEigenvalues.map((x) => Math.sqrt(Math.max(x, 0)));
  return V.mmul(Matrix.diag(s)).mmul(V.transpose());
}

export function frechetDistance(a: GaussianStats, b: GaussianStats): number {
  let meanTerm = 0;
  for (let j = 0; j < a.mean.length; j++) meanTerm += (a.mean[j] - b.mean[j]) ** 2;
  const r = sqrtPsd(a.cov);
  const inner = r.mmul(b.cov).mmul(r);
  const sym = inner.add(inner.transpose()).div(2);
  const eig = new EigenvalueDecomposition(sym, { assumeSymmetric: true }).realEigenvalues;
  const trSqrt = eig.reduce((s, x) => s + Math.sqrt(Math.max(x, 0)), 0);
  return meanTerm + a.cov.trace() + b.cov.trace() - 2 * trSqrt;
}
