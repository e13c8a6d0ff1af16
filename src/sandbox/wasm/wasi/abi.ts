/** WASI preview 1 wire constants (witx `wasi_snapshot_preview1`), the subset this host speaks. */

export const WASI_MODULE = "wasi_snapshot_preview1";

export const Errno = {
  success: 0,
  badf: 8,
  fault: 21,
  inval: 28,
  isdir: 31,
  mfile: 33,
  nametoolong: 37,
  noent: 44,
  nosys: 52,
  notdir: 54,
  notsock: 57,
  notsup: 58,
  rofs: 69,
  spipe: 70,
  notcapable: 76,
} as const;

export const Filetype = {
  unknown: 0,
  directory: 3,
  regularFile: 4,
} as const;

export const Clock = {
  realtime: 0,
  monotonic: 1,
  processCputime: 2,
  threadCputime: 3,
} as const;

export const Whence = { set: 0, current: 1, end: 2 } as const;

export const Oflags = { creat: 1, directory: 2, trunc: 8 } as const;

export const Fdflags = { append: 1, dsync: 2, nonblock: 4, sync: 16 } as const;

export const EventType = { clock: 0, fdRead: 1, fdWrite: 2 } as const;

export const SUBSCRIPTION_CLOCK_ABSTIME = 1;
export const PREOPEN_TYPE_DIR = 0;

/** Rights are bit flags on a u64. */
export const Rights = {
  fdDatasync: 1n << 0n,
  fdRead: 1n << 1n,
  fdSeek: 1n << 2n,
  fdSync: 1n << 4n,
  fdTell: 1n << 5n,
  fdWrite: 1n << 6n,
  fdAdvise: 1n << 7n,
  fdAllocate: 1n << 8n,
  pathOpen: 1n << 13n,
  fdReaddir: 1n << 14n,
  pathReadlink: 1n << 15n,
  pathFilestatGet: 1n << 18n,
  fdFilestatGet: 1n << 21n,
  fdFilestatSetSize: 1n << 22n,
  pollFdReadwrite: 1n << 27n,
} as const;

/** Rights implying modification: a path_open asking for any of them is refused (read-only fs). */
export const WRITE_RIGHTS = Rights.fdWrite | Rights.fdAllocate | Rights.fdFilestatSetSize | Rights.fdDatasync;

export const FILE_RIGHTS =
  Rights.fdRead | Rights.fdSeek | Rights.fdTell | Rights.fdAdvise | Rights.fdFilestatGet | Rights.fdSync | Rights.pollFdReadwrite;
export const DIRECTORY_RIGHTS =
  Rights.pathOpen | Rights.fdReaddir | Rights.pathReadlink | Rights.pathFilestatGet | Rights.fdFilestatGet;
/**
 * What a directory hands down to what is opened through it. Every right (all 30 bits) is
 * advertised, as on a writable file system, so wasi-libc asks for FD_WRITE when a program opens
 * for writing and path_open can answer EROFS instead of silently opening read-only.
 */
export const INHERITABLE_RIGHTS = (1n << 30n) - 1n;

/** Every function of wasi_snapshot_preview1; a module may import any of them and nothing else. */
export const PREVIEW1_FUNCTIONS = [
  "args_get",
  "args_sizes_get",
  "environ_get",
  "environ_sizes_get",
  "clock_res_get",
  "clock_time_get",
  "fd_advise",
  "fd_allocate",
  "fd_close",
  "fd_datasync",
  "fd_fdstat_get",
  "fd_fdstat_set_flags",
  "fd_fdstat_set_rights",
  "fd_filestat_get",
  "fd_filestat_set_size",
  "fd_filestat_set_times",
  "fd_pread",
  "fd_prestat_get",
  "fd_prestat_dir_name",
  "fd_pwrite",
  "fd_read",
  "fd_readdir",
  "fd_renumber",
  "fd_seek",
  "fd_sync",
  "fd_tell",
  "fd_write",
  "path_create_directory",
  "path_filestat_get",
  "path_filestat_set_times",
  "path_link",
  "path_open",
  "path_readlink",
  "path_remove_directory",
  "path_rename",
  "path_symlink",
  "path_unlink_file",
  "poll_oneoff",
  "proc_exit",
  "proc_raise",
  "sched_yield",
  "random_get",
  "sock_accept",
  "sock_recv",
  "sock_send",
  "sock_shutdown",
] as const;

export type Preview1Function = (typeof PREVIEW1_FUNCTIONS)[number];
