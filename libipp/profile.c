/*
 * profile.c - IPython profile directories, as ipyparallel finds them.
 *
 * An explicit --profile-dir wins; otherwise $IPYTHONDIR (default
 * ~/.ipython) / profile_<name>.  Inside: security/ (0700, connection
 * files), log/ and pid/.  A non-empty cluster id is spliced into the
 * connection file names: ipcontroller-<id>-client.json.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ipp.h"

int
ipp_profile_init(struct ipp_profile *p, const char *profile_dir,
    const char *name, const char *cluster_id, int create)
{
	struct ipp_profile np;
	const char *base, *home;
	char ipd[900];
	int n;

	memset(&np, 0, sizeof(np));
	if (name == NULL || *name == '\0')
		name = "default";
	if (profile_dir != NULL && *profile_dir != '\0')
		n = snprintf(np.dir, sizeof(np.dir), "%s", profile_dir);
	else {
		if ((base = getenv("IPYTHONDIR")) != NULL && *base != '\0')
			snprintf(ipd, sizeof(ipd), "%s", base);
		else {
			if ((home = getenv("HOME")) == NULL || *home == '\0')
				home = "/tmp";
			snprintf(ipd, sizeof(ipd), "%s/.ipython", home);
		}
		n = snprintf(np.dir, sizeof(np.dir), "%s/profile_%s", ipd,
		    name);
	}
	if (n < 0 || (size_t)n >= sizeof(np.dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(np.security, sizeof(np.security), "%s/security", np.dir);
	snprintf(np.log, sizeof(np.log), "%s/log", np.dir);
	snprintf(np.pid, sizeof(np.pid), "%s/pid", np.dir);
	snprintf(np.cluster_id, sizeof(np.cluster_id), "%s",
	    cluster_id ? cluster_id : "");
	if (create) {
		if (ipp_mkdirs(np.dir, 0755) == -1 ||
		    ipp_mkdirs(np.security, 0700) == -1 ||
		    chmod(np.security, 0700) == -1 ||
		    ipp_mkdirs(np.log, 0755) == -1 ||
		    ipp_mkdirs(np.pid, 0755) == -1)
			return -1;
	}
	*p = np;
	return 0;
}

void
ipp_profile_connfile(const struct ipp_profile *p, const char *which,
    char *buf, size_t len)
{
	if (p->cluster_id[0] != '\0')
		snprintf(buf, len, "%s/ipcontroller-%s-%s.json", p->security,
		    p->cluster_id, which);
	else
		snprintf(buf, len, "%s/ipcontroller-%s.json", p->security,
		    which);
}
