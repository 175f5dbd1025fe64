/* whois_respond LATENCY_MS: a whois responder on a free loopback port
   (printed alone on the first line). Each connection: a query line in,
   the answer out LATENCY_MS after the line arrived (an absolute deadline,
   a thread per connection, so twelve at once do not queue), closed.
   The answer has the keys of tools/whois_responder.py's for any address. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long latency_ns;
static const char* countries[] = {"NL", "DE", "FR", "JP", "BR", "US", "ZA", "SE", "IN", "AU", "CA", "KE"};

static void* serve(void* arg) {
  int fd = (int)(long)arg;
  char line[1024];
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, line + n, sizeof line - 1 - n);
    if (r <= 0 || n + (size_t)r >= sizeof line - 1) { close(fd); return NULL; }
    n += (size_t)r;
    line[n] = 0;
    if (strchr(line, '\n')) break;
  }
  struct timespec at;
  clock_gettime(CLOCK_MONOTONIC, &at);
  long long due = (long long)at.tv_nsec + latency_ns;
  at.tv_sec += due / 1000000000LL;
  at.tv_nsec = due % 1000000000LL;
  line[strcspn(line, "\r\n")] = 0;
  unsigned a = 0, b = 0;
  sscanf(line, "%u.%u", &a, &b);
  char answer[1400];
  int len = snprintf(answer, sizeof answer,
                     "%% flowrun's benchmark responder\n\n"
                     "inetnum:        %u.%u.0.0 - %u.%u.255.255\nnetname:        NET-%u-%u\n"
                     "descr:          Made-up network\ncountry:        %s\nsource:         FLOWRUN-TEST\n\n"
                     "%% query: %s\n", a, b, a, b, a, b, countries[(a * 256 + b) % 12], line);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR) {}
  for (int sent = 0; sent < len;) {
    ssize_t w = write(fd, answer + sent, (size_t)(len - sent));
    if (w <= 0) break;
    sent += (int)w;
  }
  close(fd);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 2) { fprintf(stderr, "usage: whois_respond LATENCY_MS\n"); return 2; }
  latency_ns = atoll(argv[1]) * 1000000LL;
  int srv = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof addr;
  if (bind(srv, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(srv, 512) != 0 ||
      getsockname(srv, (struct sockaddr*)&addr, &alen) != 0) { perror("whois_respond"); return 1; }
  printf("%u\n", ntohs(addr.sin_port));
  fflush(stdout);
  pthread_attr_t detached;
  pthread_attr_init(&detached);
  pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
  for (;;) {
    int fd = accept(srv, NULL, NULL);
    if (fd < 0) continue;
    pthread_t t;
    if (pthread_create(&t, &detached, serve, (void*)(long)fd) != 0) close(fd);
  }
}
