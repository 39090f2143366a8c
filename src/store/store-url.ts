// What `--store` names: a directory (the embedded SQLite store) or a postgres:// URL (the
// cluster's shared store). Kept apart from pg-store.ts so that telling them apart does not load
// the PostgreSQL driver (about 0.2 s at every start of the CLI).

export function isPostgresUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//i.test(s);
}

/** A postgres:// URL without its password, for messages and reports; a directory as it is. */
export function redactUrl(url: string): string {
  if (!isPostgresUrl(url)) return url;
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}
