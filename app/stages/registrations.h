// The registrations of app/stages/ (one file per component), for the table
// default_stage_registry() returns (app/stages.cpp).
#pragma once

#include "app/stage.h"

namespace epsim::app {

StageRegistration kube_proxy_registration();
StageRegistration ingress_nginx_registration();

}  // namespace epsim::app
