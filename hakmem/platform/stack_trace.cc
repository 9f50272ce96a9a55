#include "hakmem/platform/stack_trace.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>  // ElfW only: nothing here calls the loader.
#include <unistd.h>
#include <unwind.h>

#include <cerrno>
#include <cstddef>

#include "absl/base/attributes.h"
#include "hakmem/platform/line_buffer.h"

// Everything below runs inside malloc/free and in fault handlers: only
// system calls that are async-signal-safe (open, read, pread, close,
// write), stack buffers, and the unwinder. In particular no stdio, no
// malloc, and no dladdr/dl_iterate_phdr, which take the loader's lock.
// libgcc's unwinder finds each frame's FDE with _dl_find_object (glibc
// 2.35+), which takes no lock and allocates nothing.

namespace hakmem::internal {
namespace {

using Ehdr = ElfW(Ehdr);
using Phdr = ElfW(Phdr);
using Shdr = ElfW(Shdr);
using Sym = ElfW(Sym);

// ---- Capture ----

struct CaptureState {
  uintptr_t* frames;
  int max_frames;
  int skip;  // frames still to leave out, CaptureStack's own included
  int count;
};

_Unwind_Reason_Code CollectFrame(struct _Unwind_Context* context, void* arg) {
  auto* state = static_cast<CaptureState*>(arg);
  int before_insn = 0;
  uintptr_t ip = _Unwind_GetIPInfo(context, &before_insn);
  if (ip == 0) return _URC_END_OF_STACK;
  // The frame a signal interrupted is at the instruction itself, not after
  // a call: one more makes address - 1 fall in it, as for the others (the
  // instruction may be its function's first).
  if (before_insn != 0) ++ip;
  if (state->skip > 0) {
    --state->skip;
    return _URC_NO_REASON;
  }
  state->frames[state->count++] = ip;
  return state->count < state->max_frames ? _URC_NO_REASON : _URC_END_OF_STACK;
}

// ---- Files, read without allocating ----

class ScopedFd {
 public:
  explicit ScopedFd(const char* path) {
    do {
      fd_ = open(path, O_RDONLY | O_CLOEXEC);
    } while (fd_ < 0 && errno == EINTR);
  }
  ~ScopedFd() {
    if (fd_ >= 0) close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads `len` bytes at `offset`; false on a short read or an error.
bool PreadExact(int fd, void* buf, size_t len, uint64_t offset) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, static_cast<char*>(buf) + done, len - done,
                      static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// The lines of a file, each cut to the capacity of line_.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}

  // The next line, NUL-terminated and without its newline; nullptr at the
  // end of the file or on an error.
  const char* Next() {
    size_t n = 0;
    bool any = false;
    for (;;) {
      if (pos_ == len_) {
        if (eof_) break;
        ssize_t r = read(fd_, buf_, sizeof(buf_));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
          eof_ = true;
          break;
        }
        pos_ = 0;
        len_ = static_cast<size_t>(r);
      }
      char c = buf_[pos_++];
      any = true;
      if (c == '\n') break;
      if (n < sizeof(line_) - 1) line_[n++] = c;
    }
    if (!any) return nullptr;
    line_[n] = '\0';
    return line_;
  }

 private:
  int fd_;
  bool eof_ = false;
  size_t pos_ = 0;
  size_t len_ = 0;
  char buf_[512];
  char line_[512];
};

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses a number in `base` (10 or 16) at `p`; returns the first character
// after it, or nullptr if there is no digit.
const char* ParseNumber(const char* p, unsigned base, uint64_t* out) {
  uint64_t v = 0;
  const char* start = p;
  for (int d; (d = HexDigit(*p)) >= 0 && static_cast<unsigned>(d) < base; ++p) {
    v = v * base + static_cast<unsigned>(d);
  }
  if (p == start) return nullptr;
  *out = v;
  return p;
}

// Expects `c` at `p`; returns the character after it, or nullptr.
const char* Expect(const char* p, char c) {
  return p != nullptr && *p == c ? p + 1 : nullptr;
}

// ---- Modules: /proc/self/maps ----

constexpr size_t kPathCapacity = 400;

struct Module {
  // The mapped file ("/..."), a pseudo-mapping ("[vdso]"), or "" for an
  // anonymous mapping.
  char path[kPathCapacity];
  // Where the module's file offset 0 is mapped: the start of its first
  // mapping (which is at offset 0), less that mapping's offset.
  uintptr_t base;
};

// One line of /proc/self/maps:
//   start-end perms offset major:minor inode   path
struct MapsLine {
  uint64_t start, end, offset, major, minor, inode;
  const char* path;
};

bool ParseMapsLine(const char* p, MapsLine* m) {
  p = ParseNumber(p, 16, &m->start);
  p = Expect(p, '-');
  if (p != nullptr) p = ParseNumber(p, 16, &m->end);
  p = Expect(p, ' ');
  if (p == nullptr) return false;
  while (*p != '\0' && *p != ' ') ++p;  // perms
  p = Expect(p, ' ');
  if (p != nullptr) p = ParseNumber(p, 16, &m->offset);
  p = Expect(p, ' ');
  if (p != nullptr) p = ParseNumber(p, 16, &m->major);
  p = Expect(p, ':');
  if (p != nullptr) p = ParseNumber(p, 16, &m->minor);
  p = Expect(p, ' ');
  if (p != nullptr) p = ParseNumber(p, 10, &m->inode);
  if (p == nullptr) return false;
  while (*p == ' ') ++p;
  m->path = p;
  return true;
}

// Finds the mapping that holds `addr`; false if none does. (Not inlined,
// nor is FindSymbol: their buffers then share the stack in turn, which
// keeps a whole report under 5 KiB of stack, for signal stacks.)
ABSL_ATTRIBUTE_NOINLINE bool FindModule(uintptr_t addr, Module* module) {
  ScopedFd maps("/proc/self/maps");
  if (maps.get() < 0) return false;
  LineReader reader(maps.get());
  // The mappings of a module are listed together, in address order, the
  // first at file offset 0. (Not the last at offset 0: a linker may start a
  // later segment in the file's first page, as lld does in small modules.)
  MapsLine group{};  // the first mapping of the current file
  bool have_group = false;
  for (const char* line; (line = reader.Next()) != nullptr;) {
    MapsLine m;
    if (!ParseMapsLine(line, &m)) continue;
    if (m.inode != 0 && (!have_group || m.inode != group.inode ||
                         m.major != group.major || m.minor != group.minor)) {
      group = m;
      have_group = true;
    }
    if (addr < m.start || addr >= m.end) continue;
    size_t n = 0;
    for (const char* s = m.path; *s != '\0' && n < kPathCapacity - 1; ++s) {
      module->path[n++] = *s;
    }
    module->path[n] = '\0';
    module->base = m.inode != 0 && group.start <= m.start
                       ? group.start - group.offset
                       : m.start - m.offset;
    return true;
  }
  return false;
}

// ---- ELF: the load bias and the symbol tables ----

bool ReadElfHeader(int fd, Ehdr* eh) {
  if (!PreadExact(fd, eh, sizeof(*eh), 0)) return false;
  const unsigned char* id = eh->e_ident;
  if (id[EI_MAG0] != ELFMAG0 || id[EI_MAG1] != ELFMAG1 ||
      id[EI_MAG2] != ELFMAG2 || id[EI_MAG3] != ELFMAG3) {
    return false;
  }
  if (id[EI_CLASS] != (sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32)) {
    return false;
  }
  return eh->e_type == ET_EXEC || eh->e_type == ET_DYN;
}

// What to subtract from a run-time address to get the module's ELF virtual
// address (what addr2line takes): 0 for ET_EXEC, whose addresses are
// absolute; for ET_DYN the load base less the vaddr of file offset 0
// (that is, the load base itself for the usual first segment at vaddr 0).
uintptr_t LoadBias(int fd, const Ehdr& eh, uintptr_t base) {
  if (eh.e_type == ET_EXEC) return 0;
  if (eh.e_phentsize != sizeof(Phdr)) return base;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Phdr ph;
    if (!PreadExact(fd, &ph, sizeof(ph), eh.e_phoff + i * sizeof(Phdr))) break;
    if (ph.p_type == PT_LOAD) return base - (ph.p_vaddr - ph.p_offset);
  }
  return base;
}

bool ReadSectionHeader(int fd, const Ehdr& eh, uint64_t index, Shdr* sh) {
  return PreadExact(fd, sh, sizeof(*sh), eh.e_shoff + index * sizeof(Shdr));
}

// Searches the symbol table `table` for the function that holds `vaddr`;
// on success writes its name (cut to `capacity`) and its start.
bool SearchSymbols(int fd, const Ehdr& eh, const Shdr& table, uintptr_t vaddr,
                   char* name, size_t capacity, uintptr_t* start) {
  if (table.sh_entsize != sizeof(Sym)) return false;
  const uint64_t count = table.sh_size / sizeof(Sym);
  bool found = false;
  uintptr_t best_value = 0;
  uint32_t best_name = 0;
  constexpr uint64_t kChunk = 32;
  Sym syms[kChunk];
  for (uint64_t first = 0; first < count; first += kChunk) {
    uint64_t n = count - first < kChunk ? count - first : kChunk;
    if (!PreadExact(fd, syms, n * sizeof(Sym),
                    table.sh_offset + first * sizeof(Sym))) {
      return false;
    }
    for (uint64_t i = 0; i < n; ++i) {
      const Sym& s = syms[i];
      int type = ELF64_ST_TYPE(s.st_info);
      if (type != STT_FUNC && type != STT_GNU_IFUNC) continue;
      if (s.st_shndx == SHN_UNDEF || s.st_name == 0) continue;
      if (vaddr < s.st_value || vaddr - s.st_value >= s.st_size) continue;
      // Of nested or aliased symbols, the innermost (the latest start).
      if (!found || s.st_value > best_value) {
        found = true;
        best_value = s.st_value;
        best_name = s.st_name;
      }
    }
  }
  if (!found) return false;
  Shdr strtab;
  if (table.sh_link >= eh.e_shnum && eh.e_shnum != 0) return false;
  if (!ReadSectionHeader(fd, eh, table.sh_link, &strtab)) return false;
  if (best_name >= strtab.sh_size) return false;
  uint64_t len = strtab.sh_size - best_name;
  if (len > capacity - 1) len = capacity - 1;
  // The name may end before `len`: read what there is, up to its NUL.
  size_t got = 0;
  while (got < len) {
    ssize_t r = pread(fd, name + got, len - got,
                      static_cast<off_t>(strtab.sh_offset + best_name + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  name[got] = '\0';
  if (name[0] == '\0') return false;
  *start = best_value;
  return true;
}

// The function that holds `vaddr`, from .symtab, else .dynsym.
ABSL_ATTRIBUTE_NOINLINE bool FindSymbol(int fd, const Ehdr& eh, uintptr_t vaddr,
                                        char* name, size_t capacity,
                                        uintptr_t* start) {
  if (eh.e_shoff == 0 || eh.e_shentsize != sizeof(Shdr)) return false;
  uint64_t count = eh.e_shnum;
  if (count == 0) {  // more than SHN_LORESERVE sections: the count is here
    Shdr first;
    if (!ReadSectionHeader(fd, eh, 0, &first)) return false;
    count = first.sh_size;
  }
  Shdr symtab{}, dynsym{};
  bool have_symtab = false, have_dynsym = false;
  constexpr uint64_t kChunk = 8;
  Shdr shdrs[kChunk];
  for (uint64_t first = 0; first < count; first += kChunk) {
    uint64_t n = count - first < kChunk ? count - first : kChunk;
    if (!PreadExact(fd, shdrs, n * sizeof(Shdr),
                    eh.e_shoff + first * sizeof(Shdr))) {
      break;
    }
    for (uint64_t i = 0; i < n; ++i) {
      if (shdrs[i].sh_type == SHT_SYMTAB && !have_symtab) {
        symtab = shdrs[i];
        have_symtab = true;
      } else if (shdrs[i].sh_type == SHT_DYNSYM && !have_dynsym) {
        dynsym = shdrs[i];
        have_dynsym = true;
      }
    }
  }
  if (have_symtab &&
      SearchSymbols(fd, eh, symtab, vaddr, name, capacity, start)) {
    return true;
  }
  return have_dynsym &&
         SearchSymbols(fd, eh, dynsym, vaddr, name, capacity, start);
}

void WriteFrame(int fd, int index, uintptr_t addr) {
  BasicLineBuffer<1024> line;
  line.Put('#');
  line.PutUnsigned(static_cast<uint64_t>(index));
  line.Put(' ');
  line.PutHex(addr);
  line.Put(' ');
  // A return address follows its call: the call is at address - 1.
  const uintptr_t lookup = addr != 0 ? addr - 1 : 0;
  Module module;
  if (!FindModule(lookup, &module)) {
    line.Put("?\? (?\?)");
    line.WriteLine(fd);
    return;
  }
  uintptr_t bias = module.base;
  char name[256];
  name[0] = '\0';
  uintptr_t symbol = 0;
  if (module.path[0] == '/') {
    ScopedFd elf(module.path);
    Ehdr eh;
    if (elf.get() >= 0 && ReadElfHeader(elf.get(), &eh)) {
      bias = LoadBias(elf.get(), eh, module.base);
      if (!FindSymbol(elf.get(), eh, lookup - bias, name, sizeof(name),
                      &symbol)) {
        name[0] = '\0';
      }
    }
  }
  if (name[0] != '\0') {
    line.Put(name);
    line.Put('+');
    line.PutHex(addr - bias - symbol);
  } else {
    line.Put("??");
  }
  line.Put(" (");
  line.Put(module.path[0] != '\0' ? module.path : "??");
  line.Put('+');
  line.PutHex(addr - bias);
  line.Put(')');
  line.WriteLine(fd);
}

}  // namespace

ABSL_ATTRIBUTE_NOINLINE int CaptureStack(uintptr_t* frames, int max_frames,
                                         int skip_frames) {
  if (frames == nullptr || max_frames <= 0) return 0;
  int saved_errno = errno;
  // The unwinder's first frame is CaptureStack's own.
  CaptureState state{frames, max_frames, skip_frames < 0 ? 1 : skip_frames + 1,
                     0};
  _Unwind_Backtrace(CollectFrame, &state);
  errno = saved_errno;
  return state.count;
}

void WriteStack(int fd, const uintptr_t* frames, int count) {
  int saved_errno = errno;
  for (int i = 0; i < count; ++i) WriteFrame(fd, i, frames[i]);
  errno = saved_errno;
}

}  // namespace hakmem::internal
