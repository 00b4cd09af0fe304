/* Damage in an HDF5 file image that libhdf5 1.10 (Debian 12) would trust, found before libhdf5
 * sees the file. Its version 0/1 metadata (the superblock h5py writes by default, object
 * headers, groups' symbol tables: local heaps, B-tree nodes, symbol nodes) carries no checksum,
 * and libhdf5 follows the addresses and sizes it states: fuzzing found it then reading freed
 * memory, outside its buffers and through NULL. So every structure reachable from the root is
 * checked the way libhdf5 will read it: each address and size inside the file, each signature and
 * version right, each part of a message inside the message. Newer structures (superblock v2+,
 * "OHDR" headers) carry checksums libhdf5 verifies: they are left to it. Global heaps (Keras's
 * strings) are checked on their own, by scanning for them: heaps_ok. */
#include "keras.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const unsigned char *img; /* from the superblock on: file addresses index it */
  uint64_t size;
  unsigned so, sl;         /* sizes of offsets and of lengths */
  unsigned leaf_k, node_k; /* symbol node and group B-tree node capacities (halves) */
  uint64_t *seen;          /* object headers already checked (address + 1; 0: free slot) */
  size_t seen_cap, seen_n; /* a hash set, kept under half full */
  uint64_t budget;         /* structures left to check: sharing cannot blow the walk up */
  uint64_t bad_at;
  const char *what, *why;
} walk;

static uint64_t get(const unsigned char *p, unsigned n) {
  uint64_t v = 0;
  for (unsigned b = n; b-- > 0;) v = v << 8 | p[b];
  return v;
}
static bool undefined(uint64_t a, unsigned n) {
  return n >= 8 ? a == UINT64_MAX : a == (UINT64_C(1) << 8 * n) - 1;
}
static bool inside(const walk *w, uint64_t at, uint64_t len) {
  return at <= w->size && len <= w->size - at;
}
static bool bad(walk *w, uint64_t at, const char *what, const char *why) {
  w->bad_at = at;
  w->what = what;
  w->why = why;
  return false;
}
static bool spend(walk *w, uint64_t at, const char *what) {
  if (w->budget == 0) return bad(w, at, what, "is one of more structures than the file can hold");
  w->budget--;
  return true;
}

typedef struct {
  uint64_t data, size; /* the local heap's data segment */
} heap;

/* A local heap ("HEAP"): names of a group's links. */
static bool check_heap(walk *w, uint64_t from, uint64_t at, heap *h) {
  const uint64_t len = 8 + 2 * w->sl + w->so;
  if (!inside(w, at, len)) return bad(w, from, "pointer to a local heap", "leads outside the file");
  const unsigned char *p = w->img + at;
  if (memcmp(p, "HEAP", 4) != 0 || p[4] != 0)
    return bad(w, at, "local heap", "has a wrong signature or version");
  h->size = get(p + 8, w->sl);
  const uint64_t free_list = get(p + 8 + w->sl, w->sl);
  h->data = get(p + 8 + 2 * w->sl, w->so);
  if (h->size == 0 || !inside(w, h->data, h->size))
    return bad(w, at, "local heap", "states data outside the file");
  /* The free list: blocks of (next offset, size) in the data, ending in 1 (libhdf5 follows it
   * to the end, so a loop would never end). */
  uint64_t block = free_list;
  for (uint64_t steps = 0; block != 1 && !undefined(block, w->sl); steps++) {
    const unsigned char *b = w->img + h->data + block;
    if (block > h->size || h->size - block < 2 * w->sl || get(b + w->sl, w->sl) > h->size - block)
      return bad(w, at, "local heap", "states a free list outside its data");
    if (steps > h->size / (2 * w->sl))
      return bad(w, at, "local heap", "has a free list that loops");
    block = get(b, w->sl);
  }
  return true;
}

/* A name at offset `off` of the heap's data: inside it and NUL-terminated there. */
static bool name_ok(const walk *w, const heap *h, uint64_t off) {
  return off < h->size && memchr(w->img + h->data + off, 0, (size_t)(h->size - off)) != NULL;
}

/* 1 the first time `at` is seen, 0 after; -1 out of memory. */
static int first_visit(walk *w, uint64_t at) {
  if (2 * (w->seen_n + 1) > w->seen_cap) {
    const size_t cap = w->seen_cap ? 2 * w->seen_cap : 64;
    uint64_t *bigger = calloc(cap, sizeof *bigger);
    if (!bigger) return -1;
    for (size_t i = 0; i < w->seen_cap; i++) {
      if (!w->seen[i]) continue;
      size_t j = (size_t)(w->seen[i] * UINT64_C(0x9E3779B97F4A7C15) >> 32) & (cap - 1);
      while (bigger[j]) j = (j + 1) & (cap - 1);
      bigger[j] = w->seen[i];
    }
    free(w->seen);
    w->seen = bigger;
    w->seen_cap = cap;
  }
  size_t j = (size_t)((at + 1) * UINT64_C(0x9E3779B97F4A7C15) >> 32) & (w->seen_cap - 1);
  for (; w->seen[j]; j = (j + 1) & (w->seen_cap - 1))
    if (w->seen[j] == at + 1) return 0;
  w->seen[j] = at + 1;
  w->seen_n++;
  return 1;
}

static bool check_object(walk *w, uint64_t from, uint64_t at, int depth);
static bool check_shared(walk *w, uint64_t at, uint64_t pos, const unsigned char *p, uint64_t len,
                         int depth);

/* A symbol node ("SNOD"): up to 2 * leaf_k links of a group. */
static bool check_snod(walk *w, uint64_t from, uint64_t at, const heap *h, int depth) {
  const uint64_t entry = 2 * (uint64_t)w->so + 24;
  if (!spend(w, from, "pointer to a symbol table node")) return false;
  if (!inside(w, at, 8 + 2 * (uint64_t)w->leaf_k * entry))
    return bad(w, from, "pointer to a symbol table node", "leads outside the file");
  const unsigned char *p = w->img + at;
  if (memcmp(p, "SNOD", 4) != 0 || p[4] != 1)
    return bad(w, at, "symbol table node", "has a wrong signature or version");
  const unsigned n = (unsigned)get(p + 6, 2);
  if (n > 2 * w->leaf_k) return bad(w, at, "symbol table node", "states too many links");
  for (unsigned i = 0; i < n; i++) {
    const unsigned char *e = p + 8 + i * entry;
    if (!name_ok(w, h, get(e, w->so)))
      return bad(w, at, "symbol table node", "names a link outside its group's heap");
    const uint64_t cache = get(e + 2 * w->so, 4);
    if (cache == 1) { /* cached symbol table addresses, which libhdf5 may use */
      const uint64_t bt = get(e + 2 * w->so + 8, w->so), lh = get(e + 3 * w->so + 8, w->so);
      if (!inside(w, bt, 1) || !inside(w, lh, 1))
        return bad(w, at, "symbol table node", "caches a group's addresses outside the file");
    } else if (cache == 2) { /* a soft link: its target path in the heap, no object */
      if (!name_ok(w, h, get(e + 2 * w->so + 8, 4)))
        return bad(w, at, "symbol table node", "has a soft link outside its group's heap");
      continue;
    }
    if (!check_object(w, at + 8 + i * entry + w->so, get(e + w->so, w->so), depth + 1))
      return false;
  }
  return true;
}

/* A group B-tree node ("TREE", type 0): keys are names in the heap, children nodes one level
 * down or, at level 0, symbol nodes. */
static bool check_btree(walk *w, uint64_t from, uint64_t at, int level, const heap *h, int depth) {
  if (!spend(w, from, "pointer to a B-tree node")) return false;
  const uint64_t k2 = 2 * (uint64_t)w->node_k;
  if (!inside(w, at, 8 + 2 * (uint64_t)w->so + k2 * w->so + (k2 + 1) * w->sl))
    return bad(w, from, "pointer to a B-tree node", "leads outside the file");
  const unsigned char *p = w->img + at;
  if (memcmp(p, "TREE", 4) != 0 || p[4] != 0)
    return bad(w, at, "B-tree node", "has a wrong signature or type");
  if ((level >= 0 && p[5] != level) || p[5] > 32)
    return bad(w, at, "B-tree node", "has a wrong level");
  level = p[5];
  const unsigned n = (unsigned)get(p + 6, 2);
  if (n > k2) return bad(w, at, "B-tree node", "states too many children");
  for (int s = 0; s < 2; s++) {
    const uint64_t sib = get(p + 8 + s * w->so, w->so);
    if (!undefined(sib, w->so) && !inside(w, sib, 8))
      return bad(w, at, "B-tree node", "has a sibling outside the file");
  }
  const unsigned char *q = p + 8 + 2 * w->so;
  for (unsigned i = 0; i <= n; i++, q += w->sl + w->so) {
    if (!name_ok(w, h, get(q, w->sl)))
      return bad(w, at, "B-tree node", "has a key outside its group's heap");
    if (i == n) break;
    const uint64_t from_child = (uint64_t)(q + w->sl - w->img), child = get(q + w->sl, w->so);
    if (!(level ? check_btree(w, from_child, child, level - 1, h, depth)
                : check_snod(w, from_child, child, h, depth)))
      return false;
  }
  return true;
}

/* A dataspace message's encoding (also inside attributes): its dimensions inside the message;
 * the number of points into *points (UINT64_MAX if it overflows). */
static bool check_space(walk *w, uint64_t at, const unsigned char *p, uint64_t len,
                        uint64_t *points) {
  if (len < 4) return bad(w, at, "dataspace", "is too short");
  const unsigned version = p[0], rank = p[1], flags = p[2];
  if ((version != 1 && version != 2) || rank > 32)
    return bad(w, at, "dataspace", "has a wrong version or rank");
  const uint64_t head = version == 1 ? 8 : 4;
  const uint64_t need = head + (uint64_t)rank * w->sl * ((flags & 1) ? 2 : 1);
  if (need > len) return bad(w, at, "dataspace", "states more dimensions than it holds");
  uint64_t n = version == 2 && p[3] == 2 ? 0 : 1; /* a null dataspace holds nothing */
  for (unsigned i = 0; i < rank && n; i++) {
    const uint64_t d = get(p + head + (uint64_t)i * w->sl, w->sl);
    n = d && n > UINT64_MAX / d ? UINT64_MAX : n * d;
  }
  *points = n;
  return true;
}

/* A NUL-terminated name at p[0 .. len): its length with the NUL, padded to 8 if `pad`; 0 if
 * it has no NUL. */
static uint64_t name_len(const unsigned char *p, uint64_t len, bool pad) {
  const unsigned char *nul = memchr(p, 0, (size_t)len);
  if (!nul) return 0;
  const uint64_t n = (uint64_t)(nul - p) + 1;
  return pad ? (n + 7) & ~(uint64_t)7 : n;
}

/* A datatype's encoding at p[0 .. len) (in a datatype message, an attribute, or as the base of
 * another type): its size in bytes into *used, every part inside len. libhdf5 decodes it
 * without looking at len. */
static bool check_type(walk *w, uint64_t at, const unsigned char *p, uint64_t len, int depth,
                       uint64_t *used) {
  if (len < 8 || depth > 8) return bad(w, at, "datatype", "is truncated or nested too deeply");
  const unsigned cls = p[0] & 15, version = p[0] >> 4;
  const uint64_t members = get(p + 1, 2), size = get(p + 4, 4);
  if (version < 1 || version > 3) return bad(w, at, "datatype", "has a wrong version");
  static const unsigned char fixed[] = {4, 12, 2, 0, 4, 0, 0, 0, 0, 0, 0};
  uint64_t o = 8, n;
  switch (cls) {
  case 0:
  case 1:
  case 2:
  case 3:
  case 4:
  case 7: /* fixed properties */
    o += fixed[cls];
    break;
  case 5: /* opaque: a tag as long as bits 0-7 say */
    o += p[1];
    break;
  case 6: /* compound: named members at offsets, each with its type */
    for (uint64_t i = 0; i < members; i++) {
      if (o > len || !(n = name_len(p + o, len - o, version < 3)))
        return bad(w, at, "datatype", "has a member name outside it");
      o += n;
      if (version < 3) {
        o += version == 1 ? 4 + 28 : 4; /* offset; version 1: dimensions */
      } else {                          /* offset in as few bytes as the size needs */
        o++;
        for (uint64_t s = size >> 8; s; s >>= 8) o++;
      }
      if (o > len || !check_type(w, at, p + o, len - o, depth + 1, &n)) return false;
      o += n;
    }
    break;
  case 8: /* enum: a base type, names, values of the base's size */
    if (!check_type(w, at, p + o, len - o, depth + 1, &n)) return false;
    o += n;
    for (uint64_t i = 0; i < members; i++) {
      if (o > len || !(n = name_len(p + o, len - o, version < 3)))
        return bad(w, at, "datatype", "has an enum name outside it");
      o += n;
    }
    if (o > len || members * get(p + 12, 4) > len - o) /* the base type's size */
      return bad(w, at, "datatype", "has enum values outside it");
    o += members * get(p + 12, 4);
    break;
  case 9: /* variable-length: a base type */
    if (!check_type(w, at, p + o, len - o, depth + 1, &n)) return false;
    o += n;
    break;
  case 10: /* array: dimensions (and, version 2, a permutation), then a base type */
    if (version < 2 || len - o < 4 || p[o] > 32)
      return bad(w, at, "datatype", "has a wrong array rank");
    n = p[o];
    o += version == 2 ? 4 + 8 * n : 1 + 4 * n;
    if (o > len || !check_type(w, at, p + o, len - o, depth + 1, &n)) return false;
    o += n;
    break;
  default:
    return bad(w, at, "datatype", "has an unknown class");
  }
  if (o > len) return bad(w, at, "datatype", "states more properties than it holds");
  *used = o;
  return true;
}

/* The size of object `idx` of the global heap collection at `addr` (heaps_ok has checked every
 * collection: the walk ends); false if there is no such collection or object. */
static bool heap_object(const walk *w, uint64_t addr, uint64_t idx, uint64_t *osize) {
  if (!inside(w, addr, 16) || memcmp(w->img + addr, "GCOL", 4) != 0 || w->img[addr + 4] != 1)
    return false;
  const uint64_t csize = get(w->img + addr + 8, 8), end = addr + csize;
  if (csize < 16 || !inside(w, addr, csize)) return false;
  for (uint64_t p = addr + 16; end - p >= 16;) {
    const uint64_t i = get(w->img + p, 2), size = get(w->img + p + 8, 8);
    if (i == 0) { /* free space: the rest, as heaps_ok reads it */
      if (size == 0 || size >= end - p) return false;
      p += size;
    } else if (i == idx) {
      *osize = size;
      return true;
    } else {
      p += 16 + ((size + 7) & ~(uint64_t)7);
    }
  }
  return false;
}

/* A variable-length attribute's values (Keras's strings): references (length u32, collection
 * address, index u32) to objects of a global heap, which libhdf5 reads without checking the
 * index, into a buffer of the stated length. Nested ones (in compound or array types) are not
 * checked: Keras writes none. */
static bool check_references(walk *w, uint64_t at, const unsigned char *type,
                             const unsigned char *data, uint64_t points) {
  const uint64_t item = get(type + 4, 4), base_size = get(type + 12, 4);
  if (w->so != 8 || w->sl != 8) return true; /* not h5py's layout: left to libhdf5 */
  if (item < 16) return bad(w, at, "attribute message", "has variable-length values too small");
  for (uint64_t i = 0; i < points; i++) {
    const unsigned char *r = data + i * item;
    const uint64_t n = get(r, 4), addr = get(r + 4, 8), idx = get(r + 12, 4);
    uint64_t osize;
    if (n == 0 || addr == 0) continue; /* empty: libhdf5 reads nothing */
    if (!heap_object(w, addr, idx, &osize))
      return bad(w, at, "attribute message",
                 "holds a string referring to an object the heap does not hold (libhdf5 would "
                 "read outside it)");
    /* libhdf5 writes n * base_size bytes; it reads into a buffer of that size, whatever the
     * object's size: a larger object overruns it, a smaller one has a length that is not its own
     * (up to 4 G elements, all allocated). */
    if (osize != n * base_size)
      return bad(w, at, "attribute message",
                 "holds a string whose length is not its heap object's (libhdf5 would allocate "
                 "or write by the wrong length)");
  }
  return true;
}

/* An attribute message: name, datatype, dataspace and data inside the message. */
static bool check_attribute(walk *w, uint64_t at, const unsigned char *p, uint64_t len, int depth) {
  if (len < 8) return bad(w, at, "attribute message", "is too short");
  const unsigned version = p[0], flags = p[1];
  if (version < 1 || version > 3) return bad(w, at, "attribute message", "has a wrong version");
  uint64_t part[3];
  for (int i = 0; i < 3; i++) {
    part[i] = get(p + 2 + 2 * i, 2);
    if (version == 1) part[i] = (part[i] + 7) & ~(uint64_t)7; /* version 1 pads each part */
  }
  const uint64_t head = version == 3 ? 9 : 8;
  if (head + part[0] + part[1] + part[2] > len)
    return bad(w, at, "attribute message", "states parts larger than the message");
  const unsigned char *name = p + head, *type = name + part[0], *space = type + part[1];
  if (part[0] == 0 || !memchr(name, 0, (size_t)part[0]))
    return bad(w, at, "attribute message", "has an unterminated name");
  if (version >= 2 && (flags & 3)) /* shared type or space: stored elsewhere */
    return (!(flags & 1) ||
            check_shared(w, at, at + 8 + (uint64_t)(type - p), type, part[1], depth)) &&
           (!(flags & 2) ||
            check_shared(w, at, at + 8 + (uint64_t)(space - p), space, part[2], depth));
  uint64_t points, used;
  if (!check_space(w, at, space, part[2], &points) || !check_type(w, at, type, part[1], 0, &used))
    return false;
  const uint64_t item = get(type + 4, 4), room = len - head - part[0] - part[1] - part[2];
  if (points && (points == UINT64_MAX || item > room / points))
    return bad(w, at, "attribute message", "states more data than it holds");
  if ((type[0] & 15) == 9) return check_references(w, at, type, space + part[2], points);
  return true;
}

/* A fill value message (type 5, or the old type 4): the value inside the message. */
static bool check_fill(walk *w, uint64_t at, unsigned type, const unsigned char *p, uint64_t len) {
  uint64_t o = 0; /* where the value's size is */
  if (type == 5) {
    if (len < 2 || p[0] < 1 || p[0] > 3)
      return bad(w, at, "fill value message", "has a wrong version");
    if (p[0] == 3) {
      if (!(p[1] & 0x20)) return true; /* no value */
      o = 2;
    } else {
      if (len < 4) return bad(w, at, "fill value message", "is too short");
      if (p[0] == 2 && !p[3]) return true; /* no value */
      o = 4;
    }
  }
  if (len - o < 4) return bad(w, at, "fill value message", "is too short");
  const uint64_t size = get(p + o, 4);
  /* versions 1 and 2 read the size as signed: a negative one means no value */
  if ((type == 4 || p[0] < 3) && size >= UINT64_C(0x80000000)) return true;
  if (size > len - o - 4)
    return bad(w, at, "fill value message", "states a value larger than the message");
  return true;
}

/* A filter pipeline message: each filter's name and values inside the message. */
static bool check_filters(walk *w, uint64_t at, const unsigned char *p, uint64_t len) {
  if (len < 2 || p[0] < 1 || p[0] > 2 || p[1] > 32)
    return bad(w, at, "filter pipeline message", "has a wrong version or count");
  uint64_t o = p[0] == 1 ? 8 : 2;
  for (unsigned i = 0; i < p[1]; i++) {
    if (len - o < 8) return bad(w, at, "filter pipeline message", "is too short");
    const bool named = p[0] == 1 || get(p + o, 2) >= 256;
    const uint64_t name = named ? get(p + o + 2, 2) : 0, values = get(p + o + (named ? 6 : 4), 2);
    o += named ? 8 : 6;
    o += name + 4 * values + (p[0] == 1 && (values & 1) ? 4 : 0);
    if (o > len) return bad(w, at, "filter pipeline message", "states filters larger than it");
  }
  return true;
}

/* A shared message: where the message is stored, an object header (a committed datatype), which
 * libhdf5 reads as it reads this one. */
static bool check_shared(walk *w, uint64_t at, uint64_t pos, const unsigned char *p, uint64_t len,
                         int depth) {
  const uint64_t o = len >= 2 && p[0] == 1 ? 8 : 2;
  if (len < 2 || p[0] < 1 || p[0] > 3 || (p[0] == 3 && p[1] != 2))
    return bad(w, at, "shared message", "has a wrong version or location");
  if (len - o < w->so) return bad(w, at, "shared message", "is too short");
  return check_object(w, pos + o, get(p + o, w->so), depth + 1);
}

/* A data layout message: its parts inside the message, a contiguous dataset's data inside the
 * file. Chunked datasets' indexes are left to libhdf5 (Keras writes none). */
static bool check_layout(walk *w, uint64_t at, const unsigned char *p, uint64_t len) {
  if (len < 2 || p[0] < 1 || p[0] > 4)
    return bad(w, at, "data layout message", "has a wrong version");
  if (p[0] < 3) { /* version, rank, class, 5 reserved, [address], dimensions, [compact data] */
    if (len < 8 || p[1] > 33) return bad(w, at, "data layout message", "has a wrong rank");
    uint64_t o = 8 + (p[2] != 0 ? w->so : 0) + 4 * (uint64_t)p[1];
    if (p[2] == 0 && o + 4 <= len) o += 4 + get(p + o, 4);
    if (o > len) return bad(w, at, "data layout message", "states more than it holds");
    return true;
  }
  if (p[1] == 0 && (len < 4 || get(p + 2, 2) > len - 4))
    return bad(w, at, "data layout message", "states more compact data than it holds");
  if (p[1] == 1) {
    if (len < 2 + (uint64_t)w->so + w->sl) return bad(w, at, "data layout message", "is too short");
    const uint64_t data = get(p + 2, w->so), size = get(p + 2 + w->so, w->sl);
    if (!undefined(data, w->so) && !inside(w, data, size))
      return bad(w, at, "data layout message", "states data outside the file");
  }
  return true;
}

/* A link message (a group's link held in its header): its parts inside the message; a hard
 * link's object checked like a symbol table's. */
static bool check_link(walk *w, uint64_t at, const unsigned char *p, uint64_t len, int depth) {
  if (len < 2 || p[0] != 1) return bad(w, at, "link message", "has a wrong version");
  const unsigned flags = p[1];
  uint64_t o = 2 + ((flags & 8) ? 1 : 0) + ((flags & 4) ? 8 : 0) + ((flags & 0x10) ? 1 : 0);
  const unsigned type = (flags & 8) ? p[2] : 0, size_len = 1u << (flags & 3);
  if (o + size_len > len) return bad(w, at, "link message", "is too short");
  const uint64_t name = get(p + o, size_len);
  o += size_len;
  if (name == 0 || name > len - o) return bad(w, at, "link message", "states a wrong name length");
  o += name;
  if (type == 0) {
    if (len - o < w->so) return bad(w, at, "link message", "is too short");
    return check_object(w, at + 8 + o, get(p + o, w->so), depth + 1);
  }
  if (len - o < 2 || get(p + o, 2) > len - o - 2)
    return bad(w, at, "link message", "states a target larger than the message");
  return true;
}

/* A link info message (a group whose links sit in a heap): the heap and index inside the file
 * (both carry checksums libhdf5 verifies). */
static bool check_link_info(walk *w, uint64_t at, const unsigned char *p, uint64_t len) {
  if (len < 2 || p[0] != 0) return bad(w, at, "link info message", "has a wrong version");
  const uint64_t o = 2 + ((p[1] & 1) ? 8 : 0), n = (p[1] & 2) ? 3 : 2;
  if (o + n * w->so > len) return bad(w, at, "link info message", "is too short");
  for (uint64_t i = 0; i < n; i++) {
    const uint64_t a = get(p + o + i * w->so, w->so);
    if (!undefined(a, w->so) && !inside(w, a, 4))
      return bad(w, at, "link info message", "points outside the file");
  }
  return true;
}

/* A group: its local heap, then its B-tree. */
static bool check_group(walk *w, uint64_t at, const unsigned char *p, uint64_t len, int depth) {
  if (len < 2 * (uint64_t)w->so) return bad(w, at, "symbol table message", "is too short");
  heap h;
  return check_heap(w, at + 8 + w->so, get(p + w->so, w->so), &h) &&
         check_btree(w, at + 8, get(p, w->so), -1, &h, depth);
}

/* A version 1 object header: its messages inside its chunks, continuation chunks inside the
 * file, then the messages libhdf5 reads for us checked within. */
static bool check_object(walk *w, uint64_t from, uint64_t at, int depth) {
  if (depth > 64) return bad(w, from, "pointer to an object header", "nests groups too deeply");
  if (!inside(w, at, 16))
    return bad(w, from, "pointer to an object header", "leads outside the file");
  if (!spend(w, at, "object header")) return false;
  switch (first_visit(w, at)) {
  case 0:
    return true; /* an object linked twice */
  case -1:
    return bad(w, at, "object header", "is one of more than there is memory to check");
  }
  const unsigned char *p = w->img + at;
  if (memcmp(p, "OHDR", 4) == 0) return true; /* version 2: checksummed, libhdf5 checks it */
  if (p[0] != 1) return bad(w, at, "object header", "has a wrong version");
  uint64_t chunk[64][2] = {{at + 16, get(p + 8, 4)}};
  unsigned chunks = 1;
  for (unsigned c = 0; c < chunks; c++) {
    const uint64_t start = chunk[c][0], end = start + chunk[c][1];
    if (!inside(w, start, chunk[c][1]))
      return bad(w, at, "object header", "has messages outside the file");
    for (uint64_t m = start; end - m >= 8;) {
      const unsigned char *q = w->img + m;
      const unsigned type = (unsigned)get(q, 2), flags = q[4];
      const uint64_t len = get(q + 2, 2);
      if (len > end - m - 8) return bad(w, m, "object header message", "overruns its header");
      const unsigned char *d = q + 8;
      bool ok = true;
      if (type == 0x10) { /* continuation: another chunk of messages */
        if (len < (uint64_t)w->so + w->sl) return bad(w, m, "continuation message", "is short");
        if (chunks == 64) return bad(w, at, "object header", "has too many continuations");
        chunk[chunks][0] = get(d, w->so);
        chunk[chunks++][1] = get(d + w->so, w->sl);
      } else if (flags & 2) {
        ok = check_shared(w, m, m + 8, d, len, depth);
      } else if (type == 0x01) {
        uint64_t points;
        ok = check_space(w, m, d, len, &points);
      } else if (type == 0x03) {
        uint64_t used;
        ok = check_type(w, m, d, len, 0, &used);
      } else if (type == 0x04 || type == 0x05) {
        ok = check_fill(w, m, type, d, len);
      } else if (type == 0x0B) {
        ok = check_filters(w, m, d, len);
      } else if (type == 0x0C) {
        ok = check_attribute(w, m, d, len, depth);
      } else if (type == 0x08) {
        ok = check_layout(w, m, d, len);
      } else if (type == 0x11) {
        ok = check_group(w, m, d, len, depth);
      } else if (type == 0x06) {
        ok = check_link(w, m, d, len, depth);
      } else if (type == 0x02) {
        ok = check_link_info(w, m, d, len);
      }
      if (!ok) return false;
      m += 8 + len;
    }
  }
  return true;
}

/* Global heap collections ("GCOL" blocks) hold HDF5's variable-length strings, such as Keras's
 * names; libhdf5 1.10 parses a whole collection when it reads one of its strings, and a
 * free-space entry (index 0) of size 0 makes it loop forever (it advances by the entry's size).
 * The walk mirrors libhdf5's: after the 16-byte header, objects of a 16-byte header (index u16,
 * references u16, reserved u32, size u64) and their 8-aligned data; index 0's size covers the
 * rest. Collections are found by their signature, wherever they are. */
static bool collection_ok(const unsigned char *image, size_t at, size_t csize, const char **why) {
  const size_t end = at + csize;
  for (size_t p = at + 16; p < end;) {
    if (end - p < 16) break; /* too small for an object: free space */
    const unsigned idx = (unsigned)image[p] | (unsigned)image[p + 1] << 8;
    const uint64_t osize = get(image + p + 8, 8);
    if (idx == 0) {
      if (osize == 0) {
        *why = "an empty free-space entry (libhdf5 would never finish reading it)";
        return false;
      }
      if (osize >= end - p) break;
      p += (size_t)osize;
      continue;
    }
    if (osize > end - p - 16 || ((osize + 7) & ~(uint64_t)7) > end - p - 16) {
      *why = "an object larger than the heap (libhdf5 would read past it)";
      return false;
    }
    p += 16 + (size_t)((osize + 7) & ~(uint64_t)7);
  }
  return true;
}

static bool heaps_ok(const unsigned char *image, size_t size, size_t base, size_t *bad_at,
                     const char **why) {
  bool ok = true;
  for (size_t i = base; ok && i + 16 <= size; i++) {
    if (memcmp(image + i, "GCOL", 4) != 0 || image[i + 4] != 1) continue;
    const uint64_t csize = get(image + i + 8, 8);
    if (csize < 16 || csize > size - i) continue; /* libhdf5 cannot load it: it fails, not loops */
    *bad_at = i;
    ok = collection_ok(image, i, (size_t)csize, why);
  }
  return ok;
}

/* The version 0/1 structures reachable from the superblock at image[0 .. size). */
static bool structure_ok(const unsigned char *image, size_t size, size_t base, char *why,
                         size_t why_size) {
  walk w = {image, size, 0, 0, 0, 0, NULL, 0, 0, size / 8 + 1024, 0, NULL, NULL};
  const unsigned char *p = image;
  if (size < 24 || p[8] > 1) return true; /* no superblock v0/v1: libhdf5 refuses or checks */
  w.so = p[13];
  w.sl = p[14];
  w.leaf_k = (unsigned)get(p + 16, 2);
  w.node_k = (unsigned)get(p + 18, 2);
  const uint64_t root = 24 + (p[8] == 1 ? 4 : 0) + 4 * (uint64_t)w.so; /* after four addresses */
  bool ok;
  if ((w.so != 2 && w.so != 4 && w.so != 8) || (w.sl != 2 && w.sl != 4 && w.sl != 8) ||
      w.leaf_k == 0 || w.node_k == 0) {
    ok = bad(&w, 0, "superblock", "states sizes libhdf5 does not handle");
  } else if (!inside(&w, root, 2 * (uint64_t)w.so + 24)) {
    ok = bad(&w, 0, "superblock", "is truncated");
  } else {
    ok = check_object(&w, root + w.so, get(p + root + w.so, w.so), 0);
  }
  free(w.seen);
  if (!ok)
    snprintf(why, why_size, "the %s at byte %llu %s", w.what, (unsigned long long)(base + w.bad_at),
             w.why);
  return ok;
}

bool conv1dt__keras_h5_check(const unsigned char *image, size_t size, size_t base, char *why,
                             size_t why_size) {
  size_t at = 0;
  const char *heap_why = NULL;
  if (!heaps_ok(image, size, base, &at, &heap_why)) {
    snprintf(why, why_size, "the global heap data at byte %zu holds %s", at, heap_why);
    return false;
  }
  return structure_ok(image + base, size - base, base, why, why_size);
}
