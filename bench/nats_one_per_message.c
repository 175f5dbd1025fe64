/* The anchor for the broker's edges (issue 8): one record per JetStream
 * message, the plain way. A work-queue stream with file storage; a producer
 * thread publishes M records of 40 bytes, one message each; a consumer
 * thread, on a connection of its own, pulls them with natsSubscription_Fetch
 * in batches of 256 and acknowledges each message. Prints records/s from
 * the first publish to the last acknowledgement (flushed to the server).
 *
 * Built by bench/broker_bench.py:
 *   cc -O2 -pthread nats_one_per_message.c $(pkg-config --cflags --libs libnats)
 * usage: nats_one_per_message URL [-n M] [-m async|window|sync] [-w W] [-b B]
 *   async   js_PublishAsync, at most W unacknowledged (PublishAsync.MaxPending),
 *           js_PublishAsyncComplete at the end; the fastest of the three
 *   window  js_PublishAsync W messages, then js_PublishAsyncComplete, again
 *   sync    js_Publish, each waits for the stream's acknowledgement
 * Output: one line "anchor ... records_per_s=R" (read by the script).
 */
#include <nats/nats.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { kRecordBytes = 40 };

static const char *url;
static long records = 200000;
static const char *mode = "async";
static long window_msgs = 4096;
static int fetch_batch = 256;
static char stream[64], subject[80];
static volatile long publish_errors;

static double Now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void Die(const char *what, natsStatus s) {
  const char *last = nats_GetLastError(NULL);
  fprintf(stderr, "nats_one_per_message: %s: %s%s%s\n", what, natsStatus_GetText(s), last ? ": " : "",
          last ? last : "");
  exit(1);
}

static void Check(const char *what, natsStatus s) {
  if (s != NATS_OK) Die(what, s);
}

/* The same 40 bytes for record i everywhere: its number, zero-padded, then a
 * newline (what a line of seq would be, padded to the size). */
static void Record(char *buf, long i) {
  snprintf(buf, kRecordBytes + 1, "%039ld\n", i);
}

static void OnPublishError(jsCtx *js, jsPubAckErr *pae, void *closure) {
  (void)js;
  (void)pae;
  (void)closure;
  __atomic_add_fetch(&publish_errors, 1, __ATOMIC_RELAXED);
}

static void Connect(natsConnection **nc, jsCtx **js) {
  Check("connect", natsConnection_ConnectTo(nc, url));
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 10000;
  if (strcmp(mode, "async") == 0) jo.PublishAsync.MaxPending = window_msgs;
  jo.PublishAsync.ErrHandler = OnPublishError;
  Check("JetStream context", natsConnection_JetStream(js, *nc, &jo));
}

static double started;      /* set by the producer before its first publish */
static double published_at; /* every publish acknowledged by the stream */

static void *Produce(void *arg) {
  jsCtx *js = arg;
  char buf[kRecordBytes + 1];
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 60000;
  const int sync = strcmp(mode, "sync") == 0;
  const int windowed = strcmp(mode, "window") == 0;
  started = Now();
  for (long i = 0; i < records; ++i) {
    Record(buf, i);
    if (sync) {
      jsErrCode code = 0;
      Check("js_Publish", js_Publish(NULL, js, subject, buf, kRecordBytes, NULL, &code));
    } else {
      /* With MaxPending set this waits (StallWait, then an error) when the
       * window is full: retry, the window drains. */
      natsStatus s;
      while ((s = js_PublishAsync(js, subject, buf, kRecordBytes, NULL)) == NATS_TIMEOUT) {
      }
      Check("js_PublishAsync", s);
      if (windowed && (i + 1) % window_msgs == 0) Check("js_PublishAsyncComplete", js_PublishAsyncComplete(js, &po));
    }
  }
  if (!sync) Check("js_PublishAsyncComplete", js_PublishAsyncComplete(js, &po));
  published_at = Now();
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s URL [-n M] [-m async|window|sync] [-w W] [-b B]\n", argv[0]);
    return 2;
  }
  url = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "-n") == 0) records = atol(argv[i + 1]);
    else if (strcmp(argv[i], "-m") == 0) mode = argv[i + 1];
    else if (strcmp(argv[i], "-w") == 0) window_msgs = atol(argv[i + 1]);
    else if (strcmp(argv[i], "-b") == 0) fetch_batch = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (strcmp(mode, "async") != 0 && strcmp(mode, "window") != 0 && strcmp(mode, "sync") != 0) {
    fprintf(stderr, "mode: async, window or sync\n");
    return 2;
  }
  snprintf(stream, sizeof stream, "ANCHOR_%ld", (long)getpid());
  snprintf(subject, sizeof subject, "anchor.%ld.r", (long)getpid());

  /* Producer and consumer on connections of their own, as on two machines. */
  natsConnection *pnc = NULL, *cnc = NULL;
  jsCtx *pjs = NULL, *cjs = NULL;
  Connect(&pnc, &pjs);
  Connect(&cnc, &cjs);

  const char *subjects[] = {subject};
  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  sc.Name = stream;
  sc.Subjects = subjects;
  sc.SubjectsLen = 1;
  sc.Retention = js_WorkQueuePolicy;
  sc.Storage = js_FileStorage;
  jsErrCode code = 0;
  Check("add stream", js_AddStream(NULL, cjs, &sc, NULL, &code));
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = "anchor";
  cc.AckPolicy = js_AckExplicit; /* the only policy a work queue takes */
  cc.AckWait = 60LL * 1000 * 1000 * 1000;
  Check("add consumer", js_AddConsumer(NULL, cjs, stream, &cc, NULL, &code));
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = stream;
  so.Consumer = "anchor";
  so.ManualAck = true;
  natsSubscription *sub = NULL;
  Check("pull subscribe", js_PullSubscribe(&sub, cjs, subject, "anchor", NULL, &so, &code));

  pthread_t producer;
  pthread_create(&producer, NULL, Produce, pjs);

  long got = 0;
  long double sum = 0;
  while (got < records) {
    natsMsgList list = {0};
    natsStatus s = natsSubscription_Fetch(&list, sub, fetch_batch, 10000, &code);
    if (s != NATS_OK && s != NATS_TIMEOUT) Die("fetch", s);
    if (s == NATS_TIMEOUT && list.Count == 0) {
      fprintf(stderr, "nats_one_per_message: nothing for 10 s after %ld records\n", got);
      return 1;
    }
    for (int i = 0; i < list.Count; ++i) {
      sum += atol(natsMsg_GetData(list.Msgs[i]));
      Check("ack", natsMsg_Ack(list.Msgs[i], NULL));
    }
    got += list.Count;
    natsMsgList_Destroy(&list);
  }
  /* Acks are buffered: the last one has reached the server after this. */
  Check("flush", natsConnection_FlushTimeout(cnc, 10000));
  const double ended = Now();
  pthread_join(producer, NULL);

  /* Sanity: every record once, every publish acknowledged, and the work
   * queue empty (the server removed each acknowledged message). */
  long left = -1;
  for (int tries = 0; tries < 50 && left != 0; ++tries) {
    jsStreamInfo *si = NULL;
    if (js_GetStreamInfo(&si, cjs, stream, NULL, &code) == NATS_OK) {
      left = (long)si->State.Msgs;
      jsStreamInfo_Destroy(si);
    }
    if (left != 0) nats_Sleep(20);
  }
  const long double want = (long double)records * (records - 1) / 2;
  int ok = got == records && sum == want && publish_errors == 0 && left == 0;
  js_DeleteStream(cjs, stream, NULL, &code);

  const double seconds = ended - started;
  printf("anchor records=%ld bytes=%d mode=%s window=%ld fetch=%d publish_s=%.3f seconds=%.3f "
         "records_per_s=%.0f left=%ld errors=%ld ok=%d\n",
         records, kRecordBytes, mode, window_msgs, fetch_batch, published_at - started, seconds, records / seconds,
         left, (long)publish_errors, ok);

  natsSubscription_Destroy(sub);
  jsCtx_Destroy(pjs);
  jsCtx_Destroy(cjs);
  natsConnection_Destroy(pnc);
  natsConnection_Destroy(cnc);
  nats_Close();
  return ok ? 0 : 1;
}
