/** Milliseconds as a proto3 JSON duration ("1.5s"). */
export function seconds(milliseconds: number): string {
  const whole = Math.floor(milliseconds / 1000);
  const rest = milliseconds % 1000;
  return rest === 0 ? `${whole}s` : `${whole}.${String(rest).padStart(3, '0').replace(/0+$/, '')}s`;
}
