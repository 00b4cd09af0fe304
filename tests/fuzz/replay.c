/* Runs a fuzz target over files, without libFuzzer: every regular file named on the command
 * line, or found (recursively) in a directory named there, is one input. Exits 0 when all ran
 * (a bug aborts or trips a sanitizer), 2 on a path it cannot read. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long inputs;

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  size_t cap = 1 << 16, len = 0;
  uint8_t *buf = malloc(cap);
  for (size_t n; buf && (n = fread(buf + len, 1, cap - len, f)) > 0;) {
    len += n;
    if (len == cap) {
      uint8_t *grown = realloc(buf, cap *= 2);
      if (!grown) free(buf);
      buf = grown;
    }
  }
  const int ok = buf && !ferror(f);
  fclose(f);
  if (ok) {
    /* an exact-size copy, so that ASan sees a read past the input's end */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact) {
      if (len) memcpy(exact, buf, len);
      LLVMFuzzerTestOneInput(exact, len);
      free(exact);
      inputs++;
    }
  }
  free(buf);
  return ok;
}

static int run_path(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) return 0;
  if (!S_ISDIR(st.st_mode)) return S_ISREG(st.st_mode) ? run_file(path) : 1;
  DIR *d = opendir(path);
  if (!d) return 0;
  int ok = 1;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    size_t n = strlen(path) + strlen(e->d_name) + 2;
    char *child = malloc(n);
    if (!child) {
      ok = 0;
      break;
    }
    snprintf(child, n, "%s/%s", path, e->d_name);
    ok &= run_path(child);
    free(child);
  }
  closedir(d);
  return ok;
}

int main(int argc, char **argv) {
  int ok = 1;
  for (int i = 1; i < argc; i++)
    if (!run_path(argv[i])) {
      fprintf(stderr, "replay: cannot read %s\n", argv[i]);
      ok = 0;
    }
  printf("replay: %ld inputs\n", inputs);
  return ok && inputs > 0 ? 0 : 2;
}
