/*
 * broker - the switch's client of a RabbitMQ cluster (broker.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#include "broker.h"
#include "log.h"
#include "util.h"

#define BROKER_CH		1
#define BROKER_FRAME_MAX	131072

/* A publish awaiting its confirm. */
struct broker_pend {
	uint64_t	 seq;
	char		*id;		/* its message_id, to match a return */
	int		 returned;	/* basic.return seen: NOROUTE */
	int		 settled;
};

struct broker {
	amqp_connection_state_t	 c;
	const struct broker_conf *conf;
	int			 mode;
	int			 addr;
	int			 dead;
	int			 timeout_ms;
	unsigned		 prefetch;	/* consumer: set once */

	/* Publisher: next sequence number, the unsettled ones in order. */
	uint64_t		 next_seq;
	struct broker_pend	*pend;
	size_t			 npend, pend_cap;
	size_t			 first;		/* pend[first..] unsettled */

	/* Consumer: the envelope broker_next filled last. */
	amqp_envelope_t		 env;
	int			 have_env;
};

const char *
broker_strerror(int e)
{
	switch (e) {
	case BROKER_E_OK:	return "ok";
	case BROKER_E_CONN:	return "broker connection failed";
	case BROKER_E_AUTH:	return "broker login refused";
	case BROKER_E_REFUSED:	return "refused by the queue (full)";
	case BROKER_E_NOROUTE:	return "no such queue";
	case BROKER_E_CHANNEL:	return "refused by the broker";
	case BROKER_E_INVAL:	return "invalid argument";
	}
	return "unknown broker error";
}

static void
broker_cause(char *cause, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
broker_cause(char *cause, const char *fmt, ...)
{
	va_list ap;

	if (cause == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(cause, BROKER_CAUSE_MAX, fmt, ap);
	va_end(ap);
}

/*
 * An RPC reply in words; returns the enum broker_err it amounts to. A
 * channel closed by the broker is acknowledged and reopened (with its
 * confirms and prefetch), so that the connection stays usable.
 */
static int
broker_reply(struct broker *b, amqp_rpc_reply_t x, const char *what,
    char *cause)
{
	switch (x.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		return BROKER_E_OK;
	case AMQP_RESPONSE_NONE:
		broker_cause(cause, "%s: no reply from the broker", what);
		break;
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		broker_cause(cause, "%s: %s", what,
		    amqp_error_string2(x.library_error));
		break;
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (x.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			amqp_channel_close_t	*m = x.reply.decoded;
			amqp_channel_close_ok_t	 ok = { 0 };

			broker_cause(cause, "%s: %d %.*s", what, m->reply_code,
			    (int)m->reply_text.len,
			    (char *)m->reply_text.bytes);
			if (amqp_send_method(b->c, BROKER_CH,
			    AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) != 0)
				break;
			amqp_channel_open(b->c, BROKER_CH);
			if (amqp_get_rpc_reply(b->c).reply_type !=
			    AMQP_RESPONSE_NORMAL)
				break;
			if (b->mode == BROKER_PUBLISH) {
				amqp_confirm_select(b->c, BROKER_CH);
				if (amqp_get_rpc_reply(b->c).reply_type !=
				    AMQP_RESPONSE_NORMAL)
					break;
				/*
				 * A new channel numbers its confirms from 1.
				 * Publishes still unsettled on the old one
				 * have no outcome: treat the connection as
				 * lost, so the caller publishes them again.
				 */
				if (broker_unsettled(b) > 0) {
					b->dead = 1;
					return BROKER_E_CONN;
				}
				b->next_seq = 1;
				b->npend = b->first = 0;
			}
			b->prefetch = 0;
			return BROKER_E_CHANNEL;
		}
		if (x.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			amqp_connection_close_t *m = x.reply.decoded;

			broker_cause(cause, "%s: connection closed by the "
			    "broker: %d %.*s", what, m->reply_code,
			    (int)m->reply_text.len,
			    (char *)m->reply_text.bytes);
			if (m->reply_code == AMQP_ACCESS_REFUSED) {
				b->dead = 1;
				return BROKER_E_AUTH;
			}
		} else
			broker_cause(cause, "%s: broker exception 0x%08x",
			    what, x.reply.id);
		break;
	}
	b->dead = 1;
	return BROKER_E_CONN;
}

/* The reply to an RPC about a queue ("declare", "consume" ...). */
static int
broker_queue_reply(struct broker *b, const char *verb, const char *queue,
    char *cause)
{
	char what[BROKER_NAME_MAX + 32];

	snprintf(what, sizeof what, "%s %s", verb, queue);
	return broker_reply(b, amqp_get_rpc_reply(b->c), what, cause);
}

/* Split "host:port"; 0 or -1. */
static int
broker_hostport(const char *addr, char *host, size_t sz, int *port)
{
	const char	*colon = strrchr(addr, ':');
	char		*end;
	long		 p;

	if (colon == NULL || (size_t)(colon - addr) >= sz || colon == addr)
		return -1;
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p <= 0 || p > 65535)
		return -1;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	*port = (int)p;
	return 0;
}

/* One address: connected, logged in, channel open; 0 or an error. */
static int
broker_try(struct broker *b, const char *addr, char *cause)
{
	const struct broker_conf *cf = b->conf;
	amqp_socket_t		*s;
	struct timeval		 tv;
	char			 host[256], what[300];
	int			 port, rc;

	if (broker_hostport(addr, host, sizeof host, &port) == -1) {
		broker_cause(cause, "broker address \"%s\" is not host:port",
		    addr);
		return BROKER_E_INVAL;
	}
	if ((b->c = amqp_new_connection()) == NULL ||
	    (s = cf->tls_ca != NULL ? amqp_ssl_socket_new(b->c) :
	    amqp_tcp_socket_new(b->c)) == NULL)
		fatal("broker: out of memory");
	if (cf->tls_ca != NULL) {
		amqp_ssl_socket_set_verify_peer(s, 1);
		amqp_ssl_socket_set_verify_hostname(s, 1);
		if ((rc = amqp_ssl_socket_set_cacert(s, cf->tls_ca)) != 0 ||
		    (cf->tls_cert != NULL && (rc = amqp_ssl_socket_set_key(s,
		    cf->tls_cert, cf->tls_key)) != 0)) {
			broker_cause(cause, "TLS to %s: CA %s, certificate %s: "
			    "%s", addr, cf->tls_ca, cf->tls_cert ? cf->tls_cert :
			    "(none)", amqp_error_string2(rc));
			return BROKER_E_INVAL;
		}
	}
	tv.tv_sec = b->timeout_ms / 1000;
	tv.tv_usec = (b->timeout_ms % 1000) * 1000;
	amqp_set_handshake_timeout(b->c, &tv);
	amqp_set_rpc_timeout(b->c, &tv);
	if ((rc = amqp_socket_open_noblock(s, host, port, &tv)) != 0) {
		broker_cause(cause, "cannot connect to %s: %s", addr,
		    amqp_error_string2(rc));
		return BROKER_E_CONN;
	}
	b->dead = 0;
	snprintf(what, sizeof what, "login to %s", addr);
	rc = broker_reply(b, amqp_login(b->c, cf->vhost ? cf->vhost : "/", 0,
	    BROKER_FRAME_MAX, cf->heartbeat_s, AMQP_SASL_METHOD_PLAIN,
	    cf->user ? cf->user : "guest", cf->pass ? cf->pass : "guest"),
	    what, cause);
	if (rc != BROKER_E_OK)
		return rc;
	amqp_channel_open(b->c, BROKER_CH);
	snprintf(what, sizeof what, "channel on %s", addr);
	if ((rc = broker_reply(b, amqp_get_rpc_reply(b->c), what,
	    cause)) != BROKER_E_OK)
		return rc;
	if (b->mode == BROKER_PUBLISH) {
		amqp_confirm_select(b->c, BROKER_CH);
		snprintf(what, sizeof what, "confirms on %s", addr);
		if ((rc = broker_reply(b, amqp_get_rpc_reply(b->c), what,
		    cause)) != BROKER_E_OK)
			return rc;
	}
	return BROKER_E_OK;
}

struct broker *
broker_open(const struct broker_conf *cf, int first, int mode, char *cause)
{
	struct broker	*b;
	int		 i, k;

	if (cf->naddrs <= 0 || cf->naddrs > BROKER_ADDRS_MAX ||
	    (mode != BROKER_PUBLISH && mode != BROKER_CONSUME)) {
		broker_cause(cause, "no broker address");
		return NULL;
	}
	b = xcalloc(1, sizeof *b);
	b->conf = cf;
	b->mode = mode;
	b->timeout_ms = cf->timeout_ms > 0 ? cf->timeout_ms : 5000;
	b->next_seq = 1;
	if (first < 0)
		first = 0;
	for (k = 0; k < cf->naddrs; k++) {
		i = (first + k) % cf->naddrs;
		if (broker_try(b, cf->addrs[i], cause) == BROKER_E_OK) {
			b->addr = i;
			return b;
		}
		if (b->c != NULL)
			amqp_destroy_connection(b->c);
		b->c = NULL;
	}
	if (cf->naddrs > 1 && cause != NULL) {
		char last[BROKER_CAUSE_MAX];

		util_strlcpy(last, cause, sizeof last);
		broker_cause(cause, "none of %d broker addresses answered; "
		    "the last: %s", cf->naddrs, last);
	}
	free(b);
	return NULL;
}

static void
broker_pend_clear(struct broker *b)
{
	size_t i;

	for (i = 0; i < b->npend; i++)
		free(b->pend[i].id);
	b->npend = b->first = 0;
}

void
broker_close(struct broker *b)
{
	if (b == NULL)
		return;
	if (b->have_env)
		amqp_destroy_envelope(&b->env);
	if (!b->dead) {
		amqp_channel_close(b->c, BROKER_CH, AMQP_REPLY_SUCCESS);
		amqp_connection_close(b->c, AMQP_REPLY_SUCCESS);
	}
	amqp_destroy_connection(b->c);
	broker_pend_clear(b);
	free(b->pend);
	free(b);
}

int
broker_addr(const struct broker *b)
{
	return b->addr;
}

void
broker_set_timeout(struct broker *b, int ms)
{
	b->timeout_ms = ms > 0 ? ms : b->conf->timeout_ms > 0 ?
	    b->conf->timeout_ms : 5000;
}

int
broker_dead(const struct broker *b)
{
	return b->dead;
}

/* A dead connection's calls all fail alike. */
static int
broker_check(struct broker *b, char *cause)
{
	if (!b->dead)
		return 0;
	broker_cause(cause, "broker connection to %s is down",
	    b->conf->addrs[b->addr]);
	return -1;
}

static void
broker_entry_str(amqp_table_entry_t *e, const char *key, const char *val)
{
	e->key = amqp_cstring_bytes(key);
	e->value.kind = AMQP_FIELD_KIND_UTF8;
	e->value.value.bytes = amqp_cstring_bytes(val);
}

static void
broker_entry_num(amqp_table_entry_t *e, const char *key, uint64_t val)
{
	e->key = amqp_cstring_bytes(key);
	e->value.kind = AMQP_FIELD_KIND_I64;
	e->value.value.i64 = (int64_t)val;
}

int
broker_declare(struct broker *b, const char *queue,
    const struct broker_qargs *qa, char *cause)
{
	amqp_table_entry_t	 e[8];
	amqp_table_t		 args;
	int			 n = 0;

	if (broker_check(b, cause) == -1)
		return BROKER_E_CONN;
	if (strlen(queue) > BROKER_NAME_MAX) {
		broker_cause(cause, "queue name too long");
		return BROKER_E_INVAL;
	}
	if (qa->type == BROKER_Q_STREAM) {
		broker_entry_str(&e[n++], "x-queue-type", "stream");
	} else {
		broker_entry_str(&e[n++], "x-queue-type", "quorum");
		/* Nack what does not fit, never drop the oldest. */
		broker_entry_str(&e[n++], "x-overflow", "reject-publish");
		if (qa->single_active) {
			e[n].key = amqp_cstring_bytes(
			    "x-single-active-consumer");
			e[n].value.kind = AMQP_FIELD_KIND_BOOLEAN;
			e[n++].value.value.boolean = 1;
		}
		if (qa->dead_letter != NULL) {
			broker_entry_str(&e[n++], "x-dead-letter-exchange", "");
			broker_entry_str(&e[n++], "x-dead-letter-routing-key",
			    qa->dead_letter);
			broker_entry_str(&e[n++], "x-dead-letter-strategy",
			    "at-least-once");
		}
	}
	if (qa->max_bytes > 0)
		broker_entry_num(&e[n++], "x-max-length-bytes", qa->max_bytes);
	if (qa->segment_bytes > 0 && qa->type == BROKER_Q_STREAM)
		broker_entry_num(&e[n++], "x-stream-max-segment-size-bytes",
		    qa->segment_bytes);
	if (qa->replicas > 0)
		broker_entry_num(&e[n++], qa->type == BROKER_Q_STREAM ?
		    "x-initial-cluster-size" : "x-quorum-initial-group-size",
		    (uint64_t)qa->replicas);
	args.num_entries = n;
	args.entries = e;
	amqp_queue_declare(b->c, BROKER_CH, amqp_cstring_bytes(queue), 0, 1,
	    0, 0, args);
	return broker_queue_reply(b, "declare", queue, cause);
}

int
broker_depth(struct broker *b, const char *queue, uint64_t *ready,
    uint64_t *consumers, char *cause)
{
	amqp_queue_declare_ok_t *ok;

	if (broker_check(b, cause) == -1)
		return BROKER_E_CONN;
	ok = amqp_queue_declare(b->c, BROKER_CH, amqp_cstring_bytes(queue), 1,
	    0, 0, 0, amqp_empty_table);
	if (ok != NULL) {
		*ready = ok->message_count;
		*consumers = ok->consumer_count;
	}
	return broker_queue_reply(b, "depth of", queue, cause);
}

int
broker_delete(struct broker *b, const char *queue, char *cause)
{
	if (broker_check(b, cause) == -1)
		return BROKER_E_CONN;
	amqp_queue_delete(b->c, BROKER_CH, amqp_cstring_bytes(queue), 0, 0);
	return broker_queue_reply(b, "delete", queue, cause);
}

/*
 * Publishing.
 */

int
broker_publish(struct broker *b, const struct broker_msg *m, uint64_t *seq,
    char *cause)
{
	amqp_basic_properties_t	 p;
	amqp_table_entry_t	 e[BROKER_HDRS_MAX];
	amqp_bytes_t		 body;
	struct broker_pend	*pd;
	char			 idbuf[32], ttl[24];
	int			 i, rc;

	if (broker_check(b, cause) == -1)
		return BROKER_E_CONN;
	if (b->mode != BROKER_PUBLISH || m->nhdrs > BROKER_HDRS_MAX ||
	    m->nhdrs < 0) {
		broker_cause(cause, "publish: not a publisher, or too many "
		    "headers");
		return BROKER_E_INVAL;
	}
	memset(&p, 0, sizeof p);
	p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG;
	p.delivery_mode = 2;				/* persistent */
	if (m->id == NULL) {
		/* Every publish has an id: a return is matched by it. */
		snprintf(idbuf, sizeof idbuf, "seq:%" PRIu64, b->next_seq);
		p.message_id = amqp_cstring_bytes(idbuf);
	} else
		p.message_id = amqp_cstring_bytes(m->id);
	if (m->nhdrs > 0) {
		for (i = 0; i < m->nhdrs; i++) {
			if (m->hdrs[i].str != NULL)
				broker_entry_str(&e[i], m->hdrs[i].key,
				    m->hdrs[i].str);
			else
				broker_entry_num(&e[i], m->hdrs[i].key,
				    m->hdrs[i].num);
		}
		p._flags |= AMQP_BASIC_HEADERS_FLAG;
		p.headers.num_entries = m->nhdrs;
		p.headers.entries = e;
	}
	if (m->ttl_ms > 0) {
		snprintf(ttl, sizeof ttl, "%" PRIu64, m->ttl_ms);
		p._flags |= AMQP_BASIC_EXPIRATION_FLAG;
		p.expiration = amqp_cstring_bytes(ttl);
	}
	body.bytes = (void *)(uintptr_t)m->body;
	body.len = m->len;
	rc = amqp_basic_publish(b->c, BROKER_CH, amqp_empty_bytes,
	    amqp_cstring_bytes(m->queue), 1, 0, &p, body);
	if (rc != AMQP_STATUS_OK) {
		broker_cause(cause, "publish to %s on %s: %s", m->queue,
		    b->conf->addrs[b->addr], amqp_error_string2(rc));
		b->dead = 1;
		return BROKER_E_CONN;
	}
	if (b->npend == b->pend_cap) {
		b->pend_cap = b->pend_cap ? b->pend_cap * 2 : 64;
		b->pend = xrealloc(b->pend, b->pend_cap * sizeof *b->pend);
	}
	pd = &b->pend[b->npend++];
	pd->seq = b->next_seq++;
	pd->id = xstrndup(p.message_id.bytes, p.message_id.len);
	pd->returned = pd->settled = 0;
	if (seq != NULL)
		*seq = pd->seq;
	return BROKER_E_OK;
}

uint64_t
broker_unsettled(const struct broker *b)
{
	uint64_t	n = 0;
	size_t		i;

	for (i = b->first; i < b->npend; i++)
		n += !b->pend[i].settled;
	return n;
}

/* The broker closed the channel or the connection (frame f): the
 * connection is dead, cause says who closed what and why. */
static void
broker_closed(struct broker *b, const amqp_frame_t *f, char *cause)
{
	/* channel.close and connection.close start alike: code, text. */
	const amqp_channel_close_t *m = f->payload.method.decoded;

	broker_cause(cause, "%s closed the %s: %d %.*s",
	    b->conf->addrs[b->addr],
	    f->payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ?
	    "channel" : "connection", m->reply_code,
	    (int)m->reply_text.len, (char *)m->reply_text.bytes);
	b->dead = 1;
}

/* basic.ack/nack of tag (and, with multiple, every one before). */
static void
broker_confirmed(struct broker *b, uint64_t tag, int multiple, int ok,
    void (*cb)(void *, uint64_t, int), void *arg)
{
	struct broker_pend	*pd;
	size_t			 i;

	for (i = b->first; i < b->npend; i++) {
		pd = &b->pend[i];
		if (pd->seq > tag)
			break;
		if (pd->settled || (!multiple && pd->seq != tag))
			continue;
		pd->settled = 1;
		cb(arg, pd->seq, !ok ? BROKER_E_REFUSED : pd->returned ?
		    BROKER_E_NOROUTE : BROKER_E_OK);
	}
	while (b->first < b->npend && b->pend[b->first].settled)
		b->first++;
}

/* A basic.return's message: mark its publish unroutable. */
static int
broker_returned(struct broker *b, char *cause)
{
	amqp_message_t		 msg;
	amqp_rpc_reply_t	 x;
	size_t			 i, len;

	x = amqp_read_message(b->c, BROKER_CH, &msg, 0);
	if (broker_reply(b, x, "returned message", cause) != BROKER_E_OK)
		return -1;
	if (msg.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
		len = msg.properties.message_id.len;
		for (i = b->first; i < b->npend; i++)
			if (!b->pend[i].settled && !b->pend[i].returned &&
			    strlen(b->pend[i].id) == len &&
			    memcmp(b->pend[i].id,
			    msg.properties.message_id.bytes, len) == 0) {
				b->pend[i].returned = 1;
				break;
			}
	}
	amqp_destroy_message(&msg);
	return 0;
}

int
broker_settle(struct broker *b, void (*cb)(void *, uint64_t, int), void *arg,
    char *cause)
{
	uint64_t	 deadline = util_mono_us() +
			    (uint64_t)b->timeout_ms * 1000;
	amqp_frame_t	 f;
	struct timeval	 tv;
	uint64_t	 now, left;
	int		 rc;

	if (broker_check(b, cause) == -1)
		return BROKER_E_CONN;
	while (b->first < b->npend) {
		now = util_mono_us();
		if (now >= deadline) {
			broker_cause(cause, "%" PRIu64 " publishes not "
			    "confirmed by %s within %d ms",
			    broker_unsettled(b), b->conf->addrs[b->addr],
			    b->timeout_ms);
			b->dead = 1;
			return BROKER_E_CONN;
		}
		left = deadline - now;
		tv.tv_sec = (time_t)(left / 1000000);
		tv.tv_usec = (suseconds_t)(left % 1000000);
		amqp_maybe_release_buffers(b->c);
		rc = amqp_simple_wait_frame_noblock(b->c, &f, &tv);
		if (rc == AMQP_STATUS_TIMEOUT)
			continue;
		if (rc != AMQP_STATUS_OK) {
			broker_cause(cause, "confirms from %s: %s",
			    b->conf->addrs[b->addr], amqp_error_string2(rc));
			b->dead = 1;
			return BROKER_E_CONN;
		}
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		switch (f.payload.method.id) {
		case AMQP_BASIC_ACK_METHOD: {
			amqp_basic_ack_t *a = f.payload.method.decoded;

			broker_confirmed(b, a->delivery_tag, a->multiple, 1,
			    cb, arg);
			break;
		}
		case AMQP_BASIC_NACK_METHOD: {
			amqp_basic_nack_t *n = f.payload.method.decoded;

			broker_confirmed(b, n->delivery_tag, n->multiple, 0,
			    cb, arg);
			break;
		}
		case AMQP_BASIC_RETURN_METHOD:
			if (broker_returned(b, cause) == -1)
				return BROKER_E_CONN;
			break;
		case AMQP_CHANNEL_CLOSE_METHOD:
		case AMQP_CONNECTION_CLOSE_METHOD:
			broker_closed(b, &f, cause);
			return BROKER_E_CONN;
		default:
			break;
		}
	}
	broker_pend_clear(b);
	return BROKER_E_OK;
}

/*
 * Consuming.
 */

int
broker_consume(struct broker *b, const char *queue, unsigned prefetch,
    const char *offset, char *cause)
{
	amqp_table_entry_t	 e;
	amqp_table_t		 args = { 0, NULL };
	char			*end;
	unsigned long long	 n;
	int			 rc;

	if (broker_check(b, cause) == -1)
		return BROKER_E_CONN;
	if (b->mode != BROKER_CONSUME || strlen(queue) > BROKER_NAME_MAX) {
		broker_cause(cause, "consume: not a consumer, or too long a "
		    "queue name");
		return BROKER_E_INVAL;
	}
	if (b->prefetch == 0) {
		/* AMQP's 0 is no limit; its limits are 16 bits. */
		amqp_basic_qos(b->c, BROKER_CH, 0, (uint16_t)(prefetch ==
		    BROKER_UNLIMITED ? 0 : prefetch > 65535 ? 65535 :
		    prefetch ? prefetch : 1), 0);
		if ((rc = broker_reply(b, amqp_get_rpc_reply(b->c), "qos",
		    cause)) != BROKER_E_OK)
			return rc;
		b->prefetch = prefetch ? prefetch : 1;
	}
	if (offset != NULL) {
		e.key = amqp_cstring_bytes("x-stream-offset");
		n = strtoull(offset, &end, 10);
		if (*offset != '\0' && *end == '\0') {
			e.value.kind = AMQP_FIELD_KIND_I64;
			e.value.value.i64 = (int64_t)n;
		} else {
			e.value.kind = AMQP_FIELD_KIND_UTF8;
			e.value.value.bytes = amqp_cstring_bytes(offset);
		}
		args.num_entries = 1;
		args.entries = &e;
	}
	/* The consumer tag is the queue's name: deliveries say whose. */
	amqp_basic_consume(b->c, BROKER_CH, amqp_cstring_bytes(queue),
	    amqp_cstring_bytes(queue), 0, 0, 0, args);
	return broker_queue_reply(b, "consume", queue, cause);
}

int
broker_cancel(struct broker *b, const char *queue, char *cause)
{
	if (broker_check(b, cause) == -1)
		return BROKER_E_CONN;
	amqp_basic_cancel(b->c, BROKER_CH, amqp_cstring_bytes(queue));
	return broker_queue_reply(b, "cancel", queue, cause);
}

static const amqp_field_value_t *
broker_table_get(const amqp_table_t *t, const char *key)
{
	size_t	len = strlen(key);
	int	i;

	for (i = 0; i < t->num_entries; i++)
		if (t->entries[i].key.len == len &&
		    memcmp(t->entries[i].key.bytes, key, len) == 0)
			return &t->entries[i].value;
	return NULL;
}

static int
broker_value_num(const amqp_field_value_t *v, uint64_t *n)
{
	switch (v->kind) {
	case AMQP_FIELD_KIND_I8:	*n = (uint64_t)v->value.i8; break;
	case AMQP_FIELD_KIND_U8:	*n = v->value.u8; break;
	case AMQP_FIELD_KIND_I16:	*n = (uint64_t)v->value.i16; break;
	case AMQP_FIELD_KIND_U16:	*n = v->value.u16; break;
	case AMQP_FIELD_KIND_I32:	*n = (uint64_t)v->value.i32; break;
	case AMQP_FIELD_KIND_U32:	*n = v->value.u32; break;
	case AMQP_FIELD_KIND_I64:	*n = (uint64_t)v->value.i64; break;
	case AMQP_FIELD_KIND_U64:	*n = v->value.u64; break;
	case AMQP_FIELD_KIND_TIMESTAMP:	*n = v->value.u64; break;
	default:			return -1;
	}
	return 0;
}

static void
broker_value_str(const amqp_field_value_t *v, char *buf, size_t sz)
{
	size_t len;

	buf[0] = '\0';
	if (v == NULL || (v->kind != AMQP_FIELD_KIND_UTF8 &&
	    v->kind != AMQP_FIELD_KIND_BYTES) || sz == 0)
		return;
	len = v->value.bytes.len < sz - 1 ? v->value.bytes.len : sz - 1;
	if (len > 0)
		memcpy(buf, v->value.bytes.bytes, len);
	buf[len] = '\0';
}

static const amqp_table_t *
broker_headers(const struct broker_delivery *d)
{
	const amqp_envelope_t *env = d->priv;

	if (env == NULL ||
	    !(env->message.properties._flags & AMQP_BASIC_HEADERS_FLAG))
		return NULL;
	return &env->message.properties.headers;
}

uint64_t
broker_hdr_num(const struct broker_delivery *d, const char *key)
{
	const amqp_table_t		*t = broker_headers(d);
	const amqp_field_value_t	*v;
	uint64_t			 n;

	if (t == NULL || (v = broker_table_get(t, key)) == NULL ||
	    broker_value_num(v, &n) == -1)
		return 0;
	return n;
}

const char *
broker_hdr_str(const struct broker_delivery *d, const char *key, char *buf,
    size_t sz)
{
	const amqp_table_t *t = broker_headers(d);

	if (sz > 0)
		buf[0] = '\0';
	if (t != NULL)
		broker_value_str(broker_table_get(t, key), buf, sz);
	return buf;
}

/* The first x-death entry (the latest dead-lettering), if any. */
static void
broker_death(struct broker_delivery *d)
{
	const amqp_table_t		*t = broker_headers(d);
	const amqp_field_value_t	*v, *f;
	const amqp_table_t		*x;

	if (t == NULL || (v = broker_table_get(t, "x-death")) == NULL ||
	    v->kind != AMQP_FIELD_KIND_ARRAY || v->value.array.num_entries < 1 ||
	    v->value.array.entries[0].kind != AMQP_FIELD_KIND_TABLE)
		return;
	x = &v->value.array.entries[0].value.table;
	if ((f = broker_table_get(x, "count")) != NULL)
		broker_value_num(f, &d->deaths);
	broker_value_str(broker_table_get(x, "reason"), d->death_reason,
	    sizeof d->death_reason);
	broker_value_str(broker_table_get(x, "queue"), d->death_queue,
	    sizeof d->death_queue);
}

/* A frame that is not a delivery, read after amqp_consume_message
 * said so: a cancel or a close is the end of this connection. */
static int
broker_other_frame(struct broker *b, char *cause)
{
	amqp_frame_t	f;
	struct timeval	tv = { 0, 0 };
	int		rc;

	rc = amqp_simple_wait_frame_noblock(b->c, &f, &tv);
	if (rc == AMQP_STATUS_TIMEOUT)
		return 0;
	if (rc != AMQP_STATUS_OK) {
		broker_cause(cause, "deliveries from %s: %s",
		    b->conf->addrs[b->addr], amqp_error_string2(rc));
		b->dead = 1;
		return -1;
	}
	if (f.frame_type != AMQP_FRAME_METHOD)
		return 0;
	switch (f.payload.method.id) {
	case AMQP_BASIC_CANCEL_METHOD: {
		amqp_basic_cancel_t *m = f.payload.method.decoded;

		broker_cause(cause, "%s cancelled the consumer of %.*s",
		    b->conf->addrs[b->addr], (int)m->consumer_tag.len,
		    (char *)m->consumer_tag.bytes);
		break;
	}
	case AMQP_CHANNEL_CLOSE_METHOD:
	case AMQP_CONNECTION_CLOSE_METHOD:
		broker_closed(b, &f, cause);
		return -1;
	default:
		return 0;
	}
	b->dead = 1;
	return -1;
}

int
broker_next(struct broker *b, struct broker_delivery *d, int wait_ms,
    char *cause)
{
	amqp_rpc_reply_t	x;
	struct timeval		tv;
	size_t			len;

	if (broker_check(b, cause) == -1)
		return -1;
	if (b->have_env) {
		amqp_destroy_envelope(&b->env);
		b->have_env = 0;
	}
	memset(d, 0, sizeof *d);
	amqp_maybe_release_buffers(b->c);
	tv.tv_sec = wait_ms / 1000;
	tv.tv_usec = (wait_ms % 1000) * 1000;
	x = amqp_consume_message(b->c, &b->env, &tv, 0);
	if (x.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
	    x.library_error == AMQP_STATUS_TIMEOUT)
		return 0;
	if (x.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
	    x.library_error == AMQP_STATUS_UNEXPECTED_STATE)
		return broker_other_frame(b, cause);
	if (x.reply_type != AMQP_RESPONSE_NORMAL) {
		broker_reply(b, x, "deliveries", cause);
		b->dead = 1;
		return -1;
	}
	b->have_env = 1;
	d->priv = &b->env;
	d->tag = b->env.delivery_tag;
	d->redelivered = b->env.redelivered;
	len = b->env.consumer_tag.len < BROKER_NAME_MAX ?
	    b->env.consumer_tag.len : BROKER_NAME_MAX;
	memcpy(d->queue, b->env.consumer_tag.bytes, len);
	d->queue[len] = '\0';
	d->body = b->env.message.body.bytes;
	d->len = b->env.message.body.len;
	if (b->env.message.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
		len = b->env.message.properties.message_id.len;
		if (len >= sizeof d->id)
			len = sizeof d->id - 1;
		memcpy(d->id, b->env.message.properties.message_id.bytes, len);
		d->id[len] = '\0';
	}
	d->offset = broker_hdr_num(d, "x-stream-offset");
	broker_death(d);
	return 1;
}

int
broker_ack(struct broker *b, uint64_t tag, char *cause)
{
	int rc;

	if (broker_check(b, cause) == -1)
		return BROKER_E_CONN;
	if ((rc = amqp_basic_ack(b->c, BROKER_CH, tag, 0)) != 0) {
		broker_cause(cause, "ack to %s: %s", b->conf->addrs[b->addr],
		    amqp_error_string2(rc));
		b->dead = 1;
		return BROKER_E_CONN;
	}
	return BROKER_E_OK;
}

int
broker_reject(struct broker *b, uint64_t tag, int requeue, char *cause)
{
	int rc;

	if (broker_check(b, cause) == -1)
		return BROKER_E_CONN;
	if ((rc = amqp_basic_reject(b->c, BROKER_CH, tag, requeue)) != 0) {
		broker_cause(cause, "reject to %s: %s",
		    b->conf->addrs[b->addr], amqp_error_string2(rc));
		b->dead = 1;
		return BROKER_E_CONN;
	}
	return BROKER_E_OK;
}
