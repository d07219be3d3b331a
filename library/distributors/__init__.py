"""ODL distributors, the second licence provider (issue 13): staff connect a distributor's
feed; a sync job imports its publications and licences; loans of those licences are checked
out, renewed and returned at the distributor (``provider``), and kept in step with it by
notifications, a returns job and a reconciliation job (``convergence``)."""
