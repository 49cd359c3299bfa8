// Accuracy from per-image records: top-1, top-5, mean per-class accuracy, per-class table,
// confusion matrix. The same code runs on a live run, a resumed file and merged shards, so all
// three give the same numbers for the same records.
import type { ScoreRecord } from './records.js';

export interface ClassAccuracy {
  index: number;
  wnid: string;
  label: string;
  images: number;
  top1: number;
  top5: number | null;
}

export interface ScoreMetrics {
  /** images with a prediction */
  scored: number;
  /** images that could not be read or decoded */
  unreadable: number;
  top1: number;
  /** null when fewer than 5 predictions were kept (--top < 5) and the head has more than --top classes */
  top5: number | null;
  correctTop1: number;
  correctTop5: number | null;
  /** mean over the classes that have at least one scored image */
  meanPerClassTop1: number;
  classesPresent: number;
  perClass: ClassAccuracy[];
  errors: { path: string; error: string }[];
}

export class MetricsAccumulator {
  private readonly images: Int32Array;
  private readonly hits1: Int32Array;
  private readonly hits5: Int32Array;
  /** [true, predicted] counts, allocated on first use */
  readonly confusion: Int32Array;
  private scored = 0;
  private readonly errors: { path: string; error: string }[] = [];
  /** whether top-5 can be told from the stored predictions */
  readonly hasTop5: boolean;
  private readonly k5: number;

  constructor(readonly numClasses: number, top: number) {
    this.images = new Int32Array(numClasses);
    this.hits1 = new Int32Array(numClasses);
    this.hits5 = new Int32Array(numClasses);
    this.confusion = new Int32Array(numClasses * numClasses);
    // with fewer than 5 classes, top-5 is "the true class is among all of them": torch's accuracy(topk=(1,5)) needs k <= classes, we take min
    this.k5 = Math.min(5, numClasses);
    this.hasTop5 = top >= this.k5;
  }

  add(record: ScoreRecord): void {
    if (record.error !== undefined || !record.top || record.top.length === 0) {
      this.errors.push({ path: record.path, error: record.error ?? 'no prediction' });
      return;
    }
    const label = record.label;
    this.scored++;
    this.images[label]++;
    const predicted = record.top[0];
    if (predicted === label) this.hits1[label]++;
    if (record.top.slice(0, this.k5).includes(label)) this.hits5[label]++;
    this.confusion[label * this.numClasses + predicted]++;
  }

  get running(): { scored: number; correctTop1: number } {
    let correct = 0;
    for (const h of this.hits1) correct += h;
    return { scored: this.scored, correctTop1: correct };
  }

  result(labels: { index: number; wnid: string; label: string }[]): ScoreMetrics {
    let c1 = 0;
    let c5 = 0;
    let sumClassAcc = 0;
    let present = 0;
    const perClass: ClassAccuracy[] = [];
    for (let c = 0; c < this.numClasses; c++) {
      c1 += this.hits1[c];
      c5 += this.hits5[c];
      if (this.images[c] === 0) continue;
      present++;
      const acc = this.hits1[c] / this.images[c];
      sumClassAcc += acc;
      perClass.push({
        index: c, wnid: labels[c]?.wnid ?? '', label: labels[c]?.label ?? `class ${c}`, images: this.images[c],
        top1: acc, top5: this.hasTop5 ? this.hits5[c] / this.images[c] : null,
      });
    }
    const n = this.scored;
    return {
      scored: n,
      unreadable: this.errors.length,
      top1: n ? c1 / n : 0,
      top5: this.hasTop5 ? (n ? c5 / n : 0) : null,
      correctTop1: c1,
      correctTop5: this.hasTop5 ? c5 : null,
      meanPerClassTop1: present ? sumClassAcc / present : 0,
      classesPresent: present,
      perClass,
      errors: [...this.errors].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    };
  }

  /** rows: true class, columns: predicted class; first row and column name the classes */
  confusionCsv(labels: { wnid: string; label: string }[]): string {
    const name = (c: number) => {
      const l = labels[c];
      const text = l ? (l.wnid || l.label) : String(c);
      return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
    };
    const lines = [['true\\predicted', ...Array.from({ length: this.numClasses }, (_, c) => name(c))].join(',')];
    for (let t = 0; t < this.numClasses; t++) {
      lines.push([name(t), ...this.confusion.subarray(t * this.numClasses, (t + 1) * this.numClasses)].join(','));
    }
    return `${lines.join('\n')}\n`;
  }
}
