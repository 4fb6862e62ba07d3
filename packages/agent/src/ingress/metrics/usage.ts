/** One reading of an instance's resources. Absent fields could not be read and are reported as 0. */
export interface Usage {
  /** Cumulative CPU time in microseconds; the collector turns two readings into a percentage of one core. */
  cpuUsec?: number;
  memory?: number;
  memoryQuota?: number;
  disk?: number;
  diskQuota?: number;
}
