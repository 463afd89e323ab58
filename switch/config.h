/*
 * config - the nlswitchd configuration, parsed once into a read-only
 * struct config (reload builds a new one and swaps it).
 *
 * The file is XML validated against schemas/config.xsd, so every error is
 * reported as "FILE:LINE: reason". Relative paths in the file are resolved
 * against the directory of the file. docs/configuration.md documents it.
 */
#ifndef NLSWITCH_CONFIG_H
#define NLSWITCH_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

struct oridir;
struct strmap;

#define CONFIG_MAXLISTEN	4
#define CONFIG_LINE_LEN		8

enum config_svc {
	CONFIG_SVC_IN = 0,	/* in service */
	CONFIG_SVC_HELD,	/* .02: stored, forwarded when service returns */
	CONFIG_SVC_REMOVED	/* .04: not stored */
};

enum config_format {
	CONFIG_FMT_XML = 0,
	CONFIG_FMT_LEGACY
};

struct config_listen {
	char	address[64];
	char	port[8];
};

struct config_line {
	char		 code[CONFIG_LINE_LEN + 1];	/* line code */
	char		*cn;				/* certificate CN */
	char		 member[3];			/* member code served, or "" */
	int		 nori;
	char		(*ori)[MSG_ORI_LEN + 1];	/* ORIs it originates/receives for */
	uint32_t	 accept;			/* bit (1 << msg_key) per accepted key */
	uint8_t		 service[MSG_KEY_MAX];		/* enum config_svc per key */
	int		 format;			/* enum config_format */
	int		 index;				/* position in config->lines */
	int		 lineno;			/* where it is defined */
	/* Photo rules of the state served (<photo-policy>, member lines). */
	int		 photo_share;			/* 1: shares photos */
	int		 photo_public;			/* 1: allows public disclosure */
	int		 photo_noretain;		/* 1: precludes retention */
	/* Fair share of the store (<line quota= quota-msgs=>); 0: the
	 * <limits> default. */
	uint64_t	 quota_bytes;
	uint64_t	 quota_msgs;
	/* As a sender (<line send-quota= send-quota-msgs=>). */
	uint64_t	 send_quota_bytes;
	uint64_t	 send_quota_msgs;
};

/*
 * A region code and its members: one of Nlets' regions built in
 * (region.h), or one the file defines (<region>: a built-in code gets
 * the file's members, a new code is added).
 */
struct config_region {
	char	 code[3];
	int	 nmember;
	char	(*member)[3];
	int	 builtin;	/* 1: the built-in table's, not in the file */
};

struct config {
	char			*path;
	struct config_listen	 listen[CONFIG_MAXLISTEN];
	int			 nlisten;
	char			*portfile;	/* NULL: none */
	char			*datadir;
	/* <store backend="rabbitmq">: the rabbitmq backend's spec
	 * (queue_rmq.c: amqp=HOST:PORT ... prefix= replicas= credentials=);
	 * NULL: LMDB in datadir, the default. */
	char			*store_spec;
	int			 store_node;	/* its node-id (0: LMDB) */
	char			*schemadir;
	char			*ca;
	char			*cert;
	char			*key;
	int			 pki_lineno;	/* of <pki> in the file */
	char			*control_socket;	/* nlctl's Unix socket */
	char			*admin_address;		/* NULL: no admin HTTP */
	char			 admin_port[8];
	char			*admin_portfile;	/* NULL: none */
	char			*admin_token;	/* bearer token every admin HTTP
						   call needs, or NULL: none */

	size_t			 max_frame;	/* bytes */
	int			 window;	/* unacked deliveries per line */
	int			 heartbeat;	/* seconds between heartbeats */
	int			 ack_timeout;	/* seconds before redelivery */
	int			 held_ttl;	/* seconds a queued copy lives */
	uint64_t		 notice_ttl;	/* seconds an SM/ER copy lives */
	uint64_t		 resend_window;	/* seconds; 0: no resend check */
	uint64_t		 msq_timeout;	/* seconds a multi-state query
						   waits for its answers */
	uint64_t		 resend_max;	/* messages remembered at most */
	/* Hit confirmation (hitconf.h): seconds a YQ waits for its YR
	 * before the switch sends the second request, per priority. */
	uint64_t		 hit_urgent;
	uint64_t		 hit_routine;
	int			 retry_min;	/* seconds, first redelivery backoff */
	int			 retry_max;	/* seconds, backoff ceiling */
	size_t			 map_size;	/* LMDB map size, bytes */
	/* Fair share (docs/configuration.md, "Space"): bytes left to
	 * notices and deletes; what one destination line may hold. */
	uint64_t		 reserve;	/* bytes */
	uint64_t		 dest_quota_bytes;	/* 0: none */
	uint64_t		 dest_quota_msgs;	/* 0: none */
	uint64_t		 sender_quota_bytes;	/* 0: none */
	uint64_t		 sender_quota_msgs;	/* 0: none */

	int			 nline;
	struct config_line	*lines;
	/* The lines by cn, code, ORI and member (strmap.h), built once by
	 * config_load: the config_line_by_* lookups are O(1), so that a
	 * handshake costs the same with 10,000 lines as with two. */
	struct strmap		*by_cn;
	struct strmap		*by_code;
	struct strmap		*by_ori;
	struct strmap		*by_member;
	int			 nregion;	/* the file's <region>s */
	struct config_region	*regions;
	/* The built-in regions (region.h) the file does not redefine. */
	int			 nbuiltin;
	struct config_region	*builtin;

	char			*oridir;	/* ORI directory file, NULL: implicit */
	/*
	 * The ORI directory, parsed once by config_load: the file above, or
	 * the implicit one of the lines (config_directory_implicit). The config
	 * owns it (config_free frees it) until the server takes it over and
	 * sets this to NULL: the one field a loaded config gives away.
	 */
	struct oridir		*directory;
	uint64_t		 audit_retention;	/* seconds */
	int			 audit_prune_interval;	/* seconds */
	uint64_t		 audit_budget;		/* bytes, 0: none */
	int			 audit_alarm_pct;	/* of the budget */
	char			*audit_archive;		/* dir, NULL: none */

	/* Traffic capture (<record>, docs/capture.md); path NULL: off. */
	char			*record_path;
	size_t			 record_max_bytes;	/* rotate at, 0: never */
	int			 record_max_files;	/* rotated kept, 0: all */
	int			 record_images;		/* 1: photo bytes kept */
};

/**
 * Load, validate and cross-check a config file, and load the ORI
 * directory it names (or build the implicit one) into cfg->directory.
 * @param schemadir where config.xsd lives (NLSWITCH_SCHEMADIR by default).
 * @return 0 and *cfgp set, or -1 and *cause = "FILE:LINE: reason" (caller
 *	frees).
 */
int	 config_load(const char *path, const char *schemadir,
	    struct config **cfgp, char **cause);
/**
 * Check that the files <pki> names (ca, cert, key) can be opened for
 * reading and are regular files, before anything loads them.
 * @return 0, or -1 with *cause (caller frees) naming the file, the
 *	attribute and its line: "FILE:LINE: <pki cert>: cannot read PATH:
 *	No such file or directory".
 */
int	 config_pki_check(const struct config *, char **cause);
/**
 * The control socket the config file at path names, read without
 * checking the rest: <admin socket>, else <datadir>/control.sock, each
 * relative to the file's directory. For nlctl when the file no longer
 * loads (an edit in progress) and the running switch must be reached.
 * @return the path (caller frees), or NULL if the file is not XML or
 *	names neither.
 */
char	*config_control_socket(const char *path);
void	 config_free(struct config *);

/** Lookups, O(1) (hash tables built by config_load); NULL when there
 * is none. */
const struct config_line *config_line_by_cn(const struct config *, const char *cn);
const struct config_line *config_line_by_code(const struct config *, const char *code);
/** Line that serves exactly this 9-character ORI. */
const struct config_line *config_line_by_ori(const struct config *, const char *ori);
/** Line that is the switch entry of a member (state) code. */
const struct config_line *config_line_by_member(const struct config *, const char *member);
/** A region code: the file's <region> of that code, else the built-in
 * one; NULL when there is neither. */
const struct config_region *config_region(const struct config *, const char *code);
/**
 * Every region the switch knows, the file's first, then the built-in
 * ones it does not redefine: i from 0.
 * @return the i-th, or NULL past the last.
 */
const struct config_region *config_region_at(const struct config *, int i);
/** 1 if the line may originate messages for ori. */
int	 config_line_has_ori(const struct config_line *, const char *ori);
/** 1 if the line accepts deliveries of this key (SM and ER always). */
int	 config_line_accepts(const struct config_line *, int key);
/**
 * The ORI directory of a config without <oridir> (docs/policy.md): every
 * ORI of an agency line (no member) is a criminal-justice agency with
 * every authorization, every ORI of a state line (member) a
 * non-criminal-justice agency (the state DMV) with admin and dmv.
 */
struct oridir	*config_directory_implicit(const struct config *);

#endif
