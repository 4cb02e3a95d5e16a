/**
 * ROC AUC of a score separating positives from negatives: the probability that a random positive
 * scores above a random negative (ties count half), computed from ranks (Mann-Whitney U).
 */
export function rocAuc(positives: ArrayLike<number>, negatives: ArrayLike<number>): number {
  const all = [
    ...Array.from(positives, (s) => ({ s, pos: 1 })),
    ...Array.from(negatives, (s) => ({ s, pos: 0 })),
  ].sort((a, b) => a.s - b.s);
  let rankSumPos = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j].s === all[i].s) j++;
    const avgRank = (i + j + 1) / 2; // 1-based average rank of the tie group
    for (let k = i; k < j; k++) if (all[k].pos) rankSumPos += avgRank;
    i = j;
  }
  const nP = positives.length, nN = negatives.length;
  if (!nP || !nN) {
    throw new RangeError(`rocAuc: needs positives and negatives, got ${nP} and ${nN}`);
  }
  return (rankSumPos - (nP * (nP + 1)) / 2) / (nP * nN);
}
