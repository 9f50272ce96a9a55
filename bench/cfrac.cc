// The shape of cfrac (mimalloc-bench's cfrac: Dave Barrett's continued
// fraction factoring program, run on a 44-digit number), written from its
// description: the continued fraction expansion of sqrt(N) over a small
// bignum library in cfrac's style, where every operation allocates its
// result (a header and 16-bit digits: 8 to about 50 B here) and the
// operands die as soon as they have been used. So the program makes
// millions of short-lived small blocks of varying sizes, as cfrac does,
// while a few live long: the factor base, and the relations found.
//
// Each of --iterations steps computes the next P, Q and q of the expansion
// (P' = qQ - P, Q' = (N - P'^2) / Q, q' = (floor(sqrt N) + P') / Q') and
// A' = qA + A'' mod N, and trial-divides Q over a factor base of --base
// primes (those modulo which N is a square), abandoning a Q that the first
// quarter of the base left almost whole (cfrac's early abort). A Q that
// factors over the base is a full relation; one left with a cofactor below
// 2^32 (one or two primes above the base) is a partial relation, and two
// partials with the same cofactor combine into a full one (cfrac's
// large-prime variation). Every relation is checked (A^2 = +-Q mod
// N) and kept to the end. There is no linear algebra: the program does not
// finish factoring N. Collecting relations is where cfrac spends its time.
//
// --check=1 also verifies every division (q v + r = u and r < v).
//
// Reports the wall time of the steps (`cfrac`, seconds).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "bench/flags.h"
#include "bench/report.h"

namespace {

// ------------------------------------------------------------ the numbers

using Digit = uint16_t;

// Non-negative, little-endian base-65536 digits, no leading zero digit
// (zero has none). Immutable once made.
struct Num {
  uint16_t size;
  uint16_t capacity;
  Digit d[1];
};

bool g_check = false;

Num* New(size_t digits) {
  size_t capacity = digits > 0 ? digits : 1;
  auto* n = static_cast<Num*>(
      std::malloc(offsetof(Num, d) + capacity * sizeof(Digit)));
  if (n == nullptr) {
    std::fprintf(stderr, "cfrac: malloc failed\n");
    std::exit(1);
  }
  n->size = static_cast<uint16_t>(digits);
  n->capacity = static_cast<uint16_t>(capacity);
  return n;
}

void Del(Num* n) { std::free(n); }

Num* Trim(Num* n) {
  while (n->size > 0 && n->d[n->size - 1] == 0) --n->size;
  return n;
}

Num* FromU64(uint64_t v) {
  Num* n = New(4);
  for (int i = 0; i < 4; ++i) n->d[i] = static_cast<Digit>(v >> (16 * i));
  return Trim(n);
}

Num* Copy(const Num* a) {
  Num* n = New(a->size);
  std::memcpy(n->d, a->d, a->size * sizeof(Digit));
  return n;
}

bool IsOne(const Num* a) { return a->size == 1 && a->d[0] == 1; }

int Cmp(const Num* a, const Num* b) {
  if (a->size != b->size) return a->size < b->size ? -1 : 1;
  for (int i = a->size - 1; i >= 0; --i) {
    if (a->d[i] != b->d[i]) return a->d[i] < b->d[i] ? -1 : 1;
  }
  return 0;
}

Num* Add(const Num* a, const Num* b) {
  if (a->size < b->size) std::swap(a, b);
  Num* n = New(a->size + 1);
  uint32_t carry = 0;
  for (int i = 0; i < a->size; ++i) {
    carry += a->d[i] + (i < b->size ? b->d[i] : 0);
    n->d[i] = static_cast<Digit>(carry);
    carry >>= 16;
  }
  n->d[a->size] = static_cast<Digit>(carry);
  return Trim(n);
}

// a - b, for a >= b.
Num* Sub(const Num* a, const Num* b) {
  if (Cmp(a, b) < 0) {
    std::fprintf(stderr, "cfrac: negative difference\n");
    std::exit(1);
  }
  Num* n = New(a->size);
  int32_t borrow = 0;
  for (int i = 0; i < a->size; ++i) {
    int32_t t = a->d[i] - (i < b->size ? b->d[i] : 0) - borrow;
    borrow = t < 0;
    n->d[i] = static_cast<Digit>(t);
  }
  return Trim(n);
}

Num* Mul(const Num* a, const Num* b) {
  Num* n = New(a->size + b->size);
  std::memset(n->d, 0, n->size * sizeof(Digit));
  for (int i = 0; i < a->size; ++i) {
    uint32_t carry = 0;
    for (int j = 0; j < b->size; ++j) {
      carry += static_cast<uint32_t>(a->d[i]) * b->d[j] + n->d[i + j];
      n->d[i + j] = static_cast<Digit>(carry);
      carry >>= 16;
    }
    n->d[i + b->size] = static_cast<Digit>(carry);
  }
  return Trim(n);
}

Num* MulSmallAdd(const Num* a, uint32_t m, uint32_t add) {
  Num* n = New(a->size + 2);
  uint64_t carry = add;
  for (int i = 0; i < a->size; ++i) {
    carry += static_cast<uint64_t>(a->d[i]) * m;
    n->d[i] = static_cast<Digit>(carry);
    carry >>= 16;
  }
  n->d[a->size] = static_cast<Digit>(carry);
  n->d[a->size + 1] = static_cast<Digit>(carry >> 16);
  return Trim(n);
}

// a mod p without allocating, for p < 65536.
uint32_t ModSmall(const Num* a, uint32_t p) {
  uint32_t r = 0;
  for (int i = a->size - 1; i >= 0; --i) r = ((r << 16) | a->d[i]) % p;
  return r;
}

Num* DivSmall(const Num* a, uint32_t p, uint32_t* remainder) {
  Num* n = New(a->size);
  uint32_t r = 0;
  for (int i = a->size - 1; i >= 0; --i) {
    uint32_t t = (r << 16) | a->d[i];
    n->d[i] = static_cast<Digit>(t / p);
    r = t % p;
  }
  if (remainder != nullptr) *remainder = r;
  return Trim(n);
}

// Knuth's algorithm D: q = u / v and r = u mod v (either may be null),
// with normalised copies of both (temporaries, as a bignum library makes).
void DivMod(const Num* u, const Num* v, Num** q, Num** r) {
  if (v->size == 0) {
    std::fprintf(stderr, "cfrac: division by zero\n");
    std::exit(1);
  }
  if (Cmp(u, v) < 0) {
    if (q != nullptr) *q = FromU64(0);
    if (r != nullptr) *r = Copy(u);
    return;
  }
  if (v->size == 1) {
    uint32_t rem;
    Num* quotient = DivSmall(u, v->d[0], &rem);
    if (q != nullptr)
      *q = quotient;
    else
      Del(quotient);
    if (r != nullptr) *r = FromU64(rem);
    return;
  }
  const int n = v->size, m = u->size - v->size;
  int s = 0;
  while ((v->d[n - 1] << s & 0x8000) == 0) ++s;
  auto shl = [s](Digit hi, Digit lo) {
    return static_cast<Digit>(s == 0 ? hi : (hi << s) | (lo >> (16 - s)));
  };
  Num* vn = New(n);
  for (int i = n - 1; i > 0; --i) vn->d[i] = shl(v->d[i], v->d[i - 1]);
  vn->d[0] = static_cast<Digit>(v->d[0] << s);
  Num* un = New(m + n + 1);
  un->d[m + n] = s == 0 ? 0 : static_cast<Digit>(u->d[m + n - 1] >> (16 - s));
  for (int i = m + n - 1; i > 0; --i) un->d[i] = shl(u->d[i], u->d[i - 1]);
  un->d[0] = static_cast<Digit>(u->d[0] << s);
  Num* quotient = New(m + 1);
  const uint64_t top = vn->d[n - 1], second = vn->d[n - 2];
  for (int j = m; j >= 0; --j) {
    uint64_t num =
        (static_cast<uint64_t>(un->d[j + n]) << 16) | un->d[j + n - 1];
    uint64_t qhat = num / top, rhat = num % top;
    while (qhat >= 65536 || qhat * second > ((rhat << 16) | un->d[j + n - 2])) {
      --qhat;
      rhat += top;
      if (rhat >= 65536) break;
    }
    int64_t borrow = 0;
    uint64_t carry = 0;
    for (int i = 0; i < n; ++i) {
      uint64_t p = qhat * vn->d[i] + carry;
      carry = p >> 16;
      int64_t t = static_cast<int64_t>(un->d[i + j]) -
                  static_cast<int64_t>(p & 0xFFFF) - borrow;
      un->d[i + j] = static_cast<Digit>(t);
      borrow = t < 0;
    }
    int64_t t = static_cast<int64_t>(un->d[j + n]) -
                static_cast<int64_t>(carry) - borrow;
    un->d[j + n] = static_cast<Digit>(t);
    if (t < 0) {  // qhat was one too large: add v back
      --qhat;
      uint32_t c = 0;
      for (int i = 0; i < n; ++i) {
        c += static_cast<uint32_t>(un->d[i + j]) + vn->d[i];
        un->d[i + j] = static_cast<Digit>(c);
        c >>= 16;
      }
      un->d[j + n] = static_cast<Digit>(un->d[j + n] + c);
    }
    quotient->d[j] = static_cast<Digit>(qhat);
  }
  Trim(quotient);
  Num* rem = nullptr;
  if (r != nullptr || g_check) {
    rem = New(n);
    for (int i = 0; i < n; ++i) {
      rem->d[i] = static_cast<Digit>(
          s == 0 ? un->d[i] : (un->d[i] >> s) | (un->d[i + 1] << (16 - s)));
    }
    Trim(rem);
  }
  Del(vn);
  Del(un);
  if (g_check) {  // q v + r = u and r < v
    Num* qv = Mul(quotient, v);
    Num* back = Add(qv, rem);
    if (Cmp(back, u) != 0 || Cmp(rem, v) >= 0) {
      std::fprintf(stderr, "cfrac: division is wrong\n");
      std::exit(1);
    }
    Del(qv);
    Del(back);
  }
  if (q != nullptr)
    *q = quotient;
  else
    Del(quotient);
  if (r != nullptr)
    *r = rem;
  else
    Del(rem);
}

Num* FromDecimal(const char* text) {
  Num* n = FromU64(0);
  for (const char* c = text; *c != '\0'; ++c) {
    Num* next = MulSmallAdd(n, 10, static_cast<uint32_t>(*c - '0'));
    Del(n);
    n = next;
  }
  return n;
}

// floor(sqrt(n)) by Newton's iteration from above.
Num* Isqrt(const Num* n) {
  int bits = 16 * n->size;
  Num* x = New((bits / 2 + 16) / 16 + 1);
  std::memset(x->d, 0, x->size * sizeof(Digit));
  x->d[(bits / 2 + 1) / 16] = static_cast<Digit>(1u << ((bits / 2 + 1) % 16));
  Trim(x);
  for (;;) {
    Num* quotient;
    DivMod(n, x, &quotient, nullptr);
    Num* sum = Add(x, quotient);
    Num* y = DivSmall(sum, 2, nullptr);
    Del(quotient);
    Del(sum);
    if (Cmp(y, x) >= 0) {
      Del(y);
      return x;
    }
    Del(x);
    x = y;
  }
}

// --------------------------------------------------------------- cfrac

uint32_t PowMod(uint32_t b, uint32_t e, uint32_t m) {
  uint64_t result = 1, base = b % m;
  for (; e > 0; e >>= 1) {
    if (e & 1) result = result * base % m;
    base = base * base % m;
  }
  return static_cast<uint32_t>(result);
}

struct Relation {
  Relation* next;
  Num* a;
  Num* q;
  uint32_t cofactor;  // 1 for a full relation
  // Exponents mod 2: one bit per prime of the base, then one for -1.
  uint8_t parity[1];
};

// A prime of the factor base, with what tests divisibility of a number of
// up to 96 bits without dividing: the number's 32-bit words folded with
// 2^32 and 2^64 mod p into one 64-bit number with the same residue, then
// Granlund and Montgomery's test (odd p divides x iff x times p's inverse
// mod 2^64 is at most (2^64 - 1) / p).
struct Prime {
  uint32_t p;
  uint64_t word1, word2;  // 2^32 mod p, 2^64 mod p
  uint64_t inverse, limit;
};

Prime MakePrime(uint32_t p) {
  Prime prime{p, (uint64_t{1} << 32) % p, 0, 0, 0};
  prime.word2 = prime.word1 * prime.word1 % p;
  if (p % 2 == 1) {
    uint64_t inv = p;  // Newton's iteration: 5 steps give 64 bits
    for (int i = 0; i < 5; ++i) inv *= 2 - p * inv;
    prime.inverse = inv;
    prime.limit = ~uint64_t{0} / p;
  }
  return prime;
}

// A number being trial-divided, with its 32-bit words when it has at most
// 96 bits.
struct Dividend {
  Num* n;
  bool small;
  uint64_t words[3];

  explicit Dividend(Num* num) { Set(num); }
  void Set(Num* num) {
    n = num;
    small = n->size <= 6;
    words[0] = words[1] = words[2] = 0;
    for (int i = 0; small && i < n->size; ++i) {
      words[i / 2] |= uint64_t{n->d[i]} << (16 * (i % 2));
    }
  }
};

bool Divides(const Prime& prime, const Dividend& a) {
  if (prime.p == 2) return a.n->size == 0 || (a.n->d[0] & 1) == 0;
  if (!a.small) return ModSmall(a.n, prime.p) == 0;
  uint64_t folded =
      a.words[0] + a.words[1] * prime.word1 + a.words[2] * prime.word2;
  return folded * prime.inverse <= prime.limit;
}

struct Cfrac {
  const Num* n;
  std::vector<Prime>* base;  // the factor base (allocated once)
  Relation* full = nullptr;
  Relation** partials = nullptr;  // hash table by cofactor
  uint32_t buckets = 4096;
  int64_t fulls = 0, partial_count = 0, combined = 0, aborts = 0;
};

Relation* NewRelation(const Cfrac& c, const Num* a, const Num* q,
                      uint32_t cofactor, const uint8_t* parity) {
  size_t bytes = (c.base->size() + 1 + 7) / 8;
  auto* r =
      static_cast<Relation*>(std::malloc(offsetof(Relation, parity) + bytes));
  if (r == nullptr) {
    std::fprintf(stderr, "cfrac: malloc failed\n");
    std::exit(1);
  }
  r->a = Copy(a);
  r->q = Copy(q);
  r->cofactor = cofactor;
  std::memcpy(r->parity, parity, bytes);
  return r;
}

// A^2 mod N must be Q (k even) or N - Q (k odd).
void CheckRelation(const Cfrac& c, const Num* a, const Num* q, bool odd) {
  Num* square = Mul(a, a);
  Num* residue;
  DivMod(square, c.n, nullptr, &residue);
  Num* expected = odd ? Sub(c.n, q) : Copy(q);
  if (Cmp(residue, expected) != 0) {
    std::fprintf(stderr, "cfrac: a relation does not hold\n");
    std::exit(1);
  }
  Del(square);
  Del(residue);
  Del(expected);
}

// Trial-divides Q_k (with A_{k-1}) over the base; keeps what it finds.
void Factor(Cfrac& c, const Num* q, const Num* a, bool odd) {
  const std::vector<Prime>& base = *c.base;
  uint8_t parity[512] = {};
  Dividend rest(Copy(q));
  size_t abort_at = base.size() / 4;
  for (size_t i = 0; i < base.size(); ++i) {
    if (i == abort_at && rest.n->size >= q->size) {
      ++c.aborts;
      Del(rest.n);
      return;
    }
    if (!Divides(base[i], rest)) continue;
    do {
      Num* smaller = DivSmall(rest.n, base[i].p, nullptr);
      Del(rest.n);
      rest.Set(smaller);
      parity[i / 8] ^= static_cast<uint8_t>(1 << (i % 8));
    } while (Divides(base[i], rest));
    if (IsOne(rest.n)) break;
  }
  uint64_t cofactor = ~uint64_t{0};
  if (rest.n->size <= 2) cofactor = rest.words[0];
  Del(rest.n);
  if (odd) {  // -1's exponent
    parity[base.size() / 8] ^= static_cast<uint8_t>(1 << (base.size() % 8));
  }
  if (cofactor == 1) {
    CheckRelation(c, a, q, odd);
    Relation* r = NewRelation(c, a, q, 1, parity);
    r->next = c.full;
    c.full = r;
    ++c.fulls;
  } else if (cofactor < (uint64_t{1} << 32)) {
    CheckRelation(c, a, q, odd);
    Relation** bucket = &c.partials[cofactor % c.buckets];
    for (Relation* r = *bucket; r != nullptr; r = r->next) {
      if (r->cofactor == cofactor) {
        ++c.combined;
        break;
      }
    }
    Relation* r = NewRelation(c, a, q, static_cast<uint32_t>(cofactor), parity);
    r->next = *bucket;
    *bucket = r;
    ++c.partial_count;
  }
}

void FreeRelations(Relation* r) {
  while (r != nullptr) {
    Relation* next = r->next;
    Del(r->a);
    Del(r->q);
    std::free(r);
    r = next;
  }
}

}  // namespace

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv,
                     "[--iterations=1000000] [--base=200] [--check=0]");
  int64_t iterations = flags.Int("iterations", 1000000, 1);
  int64_t base_size = flags.Int("base", 200, 3);
  g_check = flags.Int("check", 0) != 0;
  flags.RejectUnknown();
  if (base_size > 4000) base_size = 4000;
  // mimalloc-bench's number (44 digits).
  const char* kNumber = "17545186520507317056371138836327483792789528";
  std::printf("cfrac n=%s iterations=%lld base=%lld check=%d\n", kNumber,
              static_cast<long long>(iterations),
              static_cast<long long>(base_size), g_check);

  auto start = std::chrono::steady_clock::now();
  Num* n = FromDecimal(kNumber);
  Num* root = Isqrt(n);
  {
    Num* square = Mul(root, root);
    Num* next = Add(root, square);  // (r+1)^2 - 1 = r^2 + 2r
    Num* bound = Add(next, root);
    if (Cmp(square, n) > 0 || Cmp(bound, n) < 0 || Cmp(square, n) == 0) {
      std::fprintf(stderr, "cfrac: bad square root, or N is a square\n");
      return 1;
    }
    Del(square);
    Del(next);
    Del(bound);
  }
  std::vector<Prime> base;
  base.reserve(base_size);
  base.push_back(MakePrime(2));
  for (uint32_t p = 3;
       static_cast<int64_t>(base.size()) < base_size && p < 65536; p += 2) {
    bool prime = true;
    for (uint32_t d = 3; d * d <= p && prime; d += 2) prime = p % d != 0;
    if (!prime) continue;
    uint32_t residue = ModSmall(n, p);
    if (residue == 0 || PowMod(residue, (p - 1) / 2, p) == 1) {
      base.push_back(MakePrime(p));
    }
  }

  Cfrac c;
  c.n = n;
  c.base = &base;
  c.partials =
      static_cast<Relation**>(std::calloc(c.buckets, sizeof(Relation*)));
  // P_0 = 0, Q_0 = 1, q_0 = floor(sqrt N); A_{-1} = 1, A_0 = q_0.
  Num* p = FromU64(0);
  Num* q = FromU64(1);
  Num* a_prev = FromU64(1);
  Num* a = Copy(root);
  Num* digit = Copy(root);
  for (int64_t k = 1; k <= iterations; ++k) {
    Num* t = Mul(digit, q);
    Num* next_p = Sub(t, p);
    Del(t);
    Del(p);
    p = next_p;
    t = Mul(p, p);
    Num* numerator = Sub(n, t);
    Del(t);
    Num* next_q;
    DivMod(numerator, q, &next_q, nullptr);
    Del(numerator);
    Del(q);
    q = next_q;
    t = Add(root, p);
    Del(digit);
    DivMod(t, q, &digit, nullptr);
    Del(t);
    Factor(c, q, a, k % 2 == 1);  // A_{k-1}^2 = (-1)^k Q_k mod N
    t = Mul(digit, a);
    Num* sum = Add(t, a_prev);
    Del(t);
    Num* next_a;
    DivMod(sum, n, nullptr, &next_a);
    Del(sum);
    Del(a_prev);
    a_prev = a;
    a = next_a;
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf(
      "cfrac_relations full=%lld partial=%lld combined=%lld "
      "early_aborts=%lld base_largest=%u\n",
      static_cast<long long>(c.fulls), static_cast<long long>(c.partial_count),
      static_cast<long long>(c.combined), static_cast<long long>(c.aborts),
      base.back().p);
  FreeRelations(c.full);
  for (uint32_t b = 0; b < c.buckets; ++b) FreeRelations(c.partials[b]);
  std::free(c.partials);
  for (Num* x : {n, root, p, q, a_prev, a, digit}) Del(x);
  bench::PrintResult("cfrac", seconds, "s");
  bench::PrintProcessReport();
  return 0;
}
